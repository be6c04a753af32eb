import { ArgumentsHost, Catch } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { GqlContextType } from '@nestjs/graphql';

/**
 * Nest logs every error a resolver or guard throws, with its stack, before GraphQL sees it: an
 * anonymous request asking for 100 protected fields wrote 100 stacks. In GraphQL, errors are
 * handed on untouched and the error formatter (graphql-errors.ts) decides what is logged, once
 * per request; elsewhere (health, metrics) Nest's own handling applies.
 */
@Catch()
export class GraphqlExceptionFilter extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): void {
    // Thrown, not returned: a subscription resolver must not hand an error object to its iterator.
    if (host.getType<GqlContextType>() === 'graphql') throw exception;
    super.catch(exception, host);
  }
}
