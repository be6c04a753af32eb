import { z } from 'zod';

const fieldType = z.enum(['string', 'integer', 'number', 'boolean', 'timestamp', 'timestamp-millis', 'timestamp-micros', 'json']);

export const sourcesFileSchema = z.strictObject({
  customerKey: z
    .strictObject({ normalize: z.array(z.enum(['trim', 'upper', 'lower'])).default(['trim', 'upper']) })
    .default({ normalize: ['trim', 'upper'] }),
  systems: z
    .record(
      z.string().regex(/^[a-z][a-z0-9_-]*$/, 'a system name is lower-case letters, digits, "-" or "_"'),
      z.strictObject({
        topic: z.string().min(1),
        table: z.string().min(1),
        recordKey: z.array(z.string().min(1)).min(1, 'name at least one record key column'),
        customerKey: z.string().min(1),
        connection: z
          .strictObject({ dialect: z.enum(['postgres', 'mysql']), urlEnv: z.string().regex(/^[A-Z][A-Z0-9_]*$/) })
          .optional(),
        // How its changes arrive: Debezium's JSON messages over the configured transport, or read
        // straight from the database's replication stream or binlog (needs the connection).
        changes: z.enum(['debezium', 'direct']).default('debezium'),
        // Debezium's `unavailable.value.placeholder`: what it sends for a value it does not have
        // (PostgreSQL's unchanged TOASTed columns); such a column keeps its stored value.
        unavailableValue: z.string().min(1).max(256).default('__debezium_unavailable_value'),
        fields: z.record(z.string(), fieldType).default({}),
      }),
    )
    .refine((s) => Object.keys(s).length > 0, 'configure at least one system')
    .superRefine((systems, ctx) => {
      for (const [name, s] of Object.entries(systems)) {
        if (s.changes === 'direct' && !s.connection) {
          ctx.addIssue({ code: 'custom', path: [name, 'changes'], message: 'a system whose changes are read directly needs a connection (dialect and urlEnv)' });
        }
      }
    }),
});
