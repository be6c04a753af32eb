import { join } from 'node:path';
import { GraphQLDefinitionsFactory } from '@nestjs/graphql';
import { projectRoot } from '@app/config';

/** Generates the TypeScript types of the SDL in `schema/`; run by `npm run graphql:types`. */
export const SCHEMA_GLOB = join(projectRoot(), 'schema/*.graphql');
export const GENERATED_TYPES = join(projectRoot(), 'libs/graphql-api/src/generated/graphql.ts');

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
  generateTypes().catch((e: Error) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  });
}
