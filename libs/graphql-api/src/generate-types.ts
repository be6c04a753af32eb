import { join } from 'node:path';
import { GraphQLDefinitionsFactory } from '@nestjs/graphql';
import { projectRoot } from '@app/config';

/** Generates the TypeScript types of the SDL in `schema/`; run by `npm run graphql:types`. */
export const SCHEMA_GLOB = join(projectRoot(), 'schema/*.graphql');
export const GENERATED_TYPES = join(projectRoot(), 'libs/graphql-api/src/generated/graphql.ts');
/** The same types for the console (apps/console), which cannot import a server library. */
export const CONSOLE_GENERATED_TYPES = join(projectRoot(), 'apps/console/src/api/generated/graphql.ts');

export async function generateTypes(outputPath = GENERATED_TYPES): Promise<void> {
  await new GraphQLDefinitionsFactory().generate({
    typePaths: [SCHEMA_GLOB],
    path: outputPath,
    outputAs: 'interface',
    skipResolverArgs: false,
    emitTypenameField: false,
    additionalHeader: '/* Generated from schema/*.graphql by `npm run graphql:types`; do not edit. */',
  });
}

if (require.main === module) {
  Promise.all([generateTypes(), generateTypes(CONSOLE_GENERATED_TYPES)]).catch((e: Error) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  });
}
