import { DynamicModule, Logger, LogLevel, Module, ModuleMetadata, Type } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import { Logger as PinoLogger, LoggerModule } from 'nestjs-pino';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { AccessModule } from '@app/access';
import { BackfillDatabaseModule } from '@app/backfill';
import { ConfigError, ConfigModule, DomainConfig, EnvConfig, loadDomainConfig, loadEnvConfig } from '@app/config';
import { ActiveRuleSet, InstanceRegistry, ProjectionModule } from '@app/projection';
import { Connections, openConnections } from './connections';
import { HealthModule } from './health/health.module';
import { InstanceHeartbeat } from './health/instance.heartbeat';
import { unreachable } from './startup.error';

export interface AppParts {
  /** Serve GraphQL. */
  api: boolean;
  /** Consume change events. */
  ingest: boolean;
}

@Module({})
class StatusviewModule {
  static register(env: EnvConfig, domain: DomainConfig, connections: Connections, parts: AppParts, modules: Array<Type<unknown>>, jsonLogs: boolean): DynamicModule {
    // One database holds every library's tables; each library gets the connection explicitly.
    const imports: ModuleMetadata['imports'] = [
      ConfigModule.forRoot({ env, domain }),
      ProjectionModule.forRoot(connections),
      BackfillDatabaseModule.forRoot(connections.dataSource),
      AccessModule.forRoot(connections),
      HealthModule,
    ];
    if (jsonLogs) {
      imports.push(
        LoggerModule.forRoot({
          // No per-request middleware: it costs an AsyncLocalStorage context and a child logger on
          // every request (measured on the customer(id) path); batches and problems carry their own ids.
          forRoutes: [],
          pinoHttp: {
            level: env.logLevel,
            // One line per problem and per batch, not per HTTP request; GraphQL has its own metrics.
            autoLogging: false,
            genReqId: (req) => (req.headers['x-request-id'] as string | undefined) ?? randomUUID(),
          },
        }),
      );
    }
    imports.push(...modules);
    const names = [...(parts.api ? ['api'] : []), ...(parts.ingest ? ['ingest'] : [])];
    const heartbeat = { provide: InstanceHeartbeat, inject: [InstanceRegistry, ActiveRuleSet], useFactory: (r: InstanceRegistry, a: ActiveRuleSet) => new InstanceHeartbeat(r, a, names) };
    return { module: StatusviewModule, imports, providers: [heartbeat] };
  }
}

export interface RunningApp {
  app: NestFastifyApplication;
  connections: Connections;
  url: string;
  /** Stops consuming, finishes the batch in flight, closes the server and connections. */
  close(): Promise<void>;
}

/**
 * Builds and starts one process: the API, the consumer, or both. Every dependency is checked
 * first, so that a missing service is one clear line rather than a stack trace.
 */
export async function startApp(
  parts: AppParts,
  overrides: { env?: EnvConfig; domain?: DomainConfig; logger?: false | LogLevel[] } = {},
): Promise<RunningApp> {
  const env = overrides.env ?? loadEnvConfig();
  const domain = overrides.domain ?? loadDomainConfig(env.configDir, { directSystems: env.cdc.directSystems });
  // Loaded only by the processes that run them: an API-only process never loads the transports
  // (amqplib, kafkajs) nor the decoders, a consumer-only one never loads GraphQL.
  const modules: Array<Type<unknown>> = [];
  const api = parts.api ? await import('@app/graphql-api') : null;
  if (api) modules.push(api.GraphqlApiModule);
  if (parts.ingest) modules.push((await import('@app/ingest')).IngestModule);
  if (parts.ingest) {
    // With the other configuration problems, before anything connects: each unset URL of a system read directly.
    const problems = domain.sources.systems.flatMap((s) => (s.changes === 'direct' && s.connection ? directUrlProblems(s.name, s.connection) : []));
    if (problems.length > 0) throw new ConfigError(problems);
  }
  // The broker is needed only when some system's changes come as Debezium messages.
  const viaBroker = domain.sources.systems.some((s) => (s.changes ?? 'debezium') === 'debezium');
  const connections = await openConnections(env, { checkBroker: parts.ingest && viaBroker });
  let app: NestFastifyApplication | undefined;
  const jsonLogs = overrides.logger === undefined;
  try {
    app = await NestFactory.create<NestFastifyApplication>(StatusviewModule.register(env, domain, connections, parts, modules, jsonLogs), new FastifyAdapter({ bodyLimit: env.http.bodyLimit }), {
      logger: overrides.logger ?? ['error', 'warn', 'log'],
      bufferLogs: jsonLogs,
      abortOnError: false,
    });
    if (jsonLogs) app.useLogger(app.get(PinoLogger));
    if (api) await api.registerConsoleRoutes(app.getHttpAdapter().getInstance());
    await app.listen(env.http.port, env.http.host);
  } catch (e) {
    // What was logged before the failure (a slot created, rows loaded) is shown, not kept in the start's buffer.
    if (jsonLogs) Logger.flush();
    // A source that failed to start (a direct source's slot, say) after others had started: those stop too.
    await app?.close().catch(() => undefined);
    await connections.close();
    const code = (e as { code?: string }).code;
    if (code === 'ECONNREFUSED' && parts.ingest) throw unreachable('RabbitMQ', env.amqp.url, e);
    throw e;
  }
  const started = app;
  const address = started.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : env.http.port;
  let closing: Promise<void> | undefined;
  return {
    app: started,
    connections,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      (closing ??= (async () => {
        await started.close();
        await connections.close();
      })()),
  };
}

/** SIGTERM/SIGINT: finish the batch in flight, close everything, exit 0 (or 1 if that takes too long). */
export function exitOnSignals(running: RunningApp, boundMs = 15_000, afterClose?: () => Promise<void>): void {
  const logger = new Logger('shutdown');
  const stop = (signal: string) => {
    logger.log(`${signal} received: stopping`);
    setTimeout(() => {
      logger.error(`did not stop within ${boundMs} ms; exiting`);
      process.exit(1);
    }, boundMs).unref();
    running
      .close()
      .then(() => afterClose?.())
      .then(
        () => process.exit(0),
        (e: Error) => {
          logger.error(`error while stopping: ${e.message}`);
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

const URL_SCHEMES: Record<string, string[]> = { postgres: ['postgres:', 'postgresql:'], mysql: ['mysql:'] };

/** What is wrong with the connection URL of a system read directly: unset, not a URL, or of another database than its dialect. */
function directUrlProblems(system: string, connection: { dialect: string; urlEnv: string }): string[] {
  const value = process.env[connection.urlEnv];
  const what = `the connection URL of system ${system}, whose changes are read directly (changes: direct in sources.yaml, or CDC_DIRECT_SYSTEMS)`;
  if (!value) return [`${connection.urlEnv}: not set; it is ${what}`];
  let protocol: string;
  try {
    protocol = new URL(value).protocol;
  } catch {
    return [`${connection.urlEnv}: not a URL; it is ${what}`];
  }
  const schemes = URL_SCHEMES[connection.dialect] ?? [];
  return schemes.length > 0 && !schemes.includes(protocol) ? [`${connection.urlEnv}: a ${protocol.slice(0, 20)} URL, but system ${system} is ${connection.dialect} (expected ${schemes.join(' or ')})`] : [];
}
