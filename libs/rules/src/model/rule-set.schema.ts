import { z } from 'zod';

/** The file format's shape (before semantic checks). Cells stay loose here; the parser reads them. */
const scalar = z.union([z.string(), z.number(), z.boolean()]);
const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be letters, digits, "-", "_" or "." (a stable id)');
const hitPolicy = z.enum(['FIRST', 'PRIORITY', 'UNIQUE']);

const mappingRule = z.strictObject({
  id,
  description: z.string().min(1, 'every rule needs a description'),
  when: z.record(z.string(), z.unknown()).default({}),
  then: z.string(),
  fallback: z.boolean().default(false),
});

const mappingTable = z.strictObject({
  hitPolicy: hitPolicy.default('FIRST'),
  inputs: z.record(
    z.string(),
    z.strictObject({ type: z.enum(['string', 'number', 'boolean', 'date']), allowed: z.array(scalar).optional() }),
  ),
  unmappedInput: z.string().optional(),
  rules: z.array(mappingRule).min(1, 'a mapping table needs at least one rule'),
});

const resolutionRule = z.strictObject({
  id,
  description: z.string().min(1, 'every rule needs a description'),
  when: z.record(z.string(), z.unknown()).default({}),
  then: z.string(),
  fallback: z.boolean().default(false),
});

export const ruleSetFileSchema = z.strictObject({
  statuses: z.array(z.string().min(1)).min(1, 'the canonical vocabulary cannot be empty'),
  mappings: z.record(z.string(), mappingTable),
  resolution: z.strictObject({
    hitPolicy: hitPolicy.default('FIRST'),
    rules: z.array(resolutionRule).min(1, 'the resolution table needs at least one rule'),
  }),
  examples: z
    .strictObject({
      mappings: z
        .array(
          z.strictObject({
            system: z.string(),
            raw: z.record(z.string(), z.unknown()),
            expect: z.strictObject({ status: z.string(), rule: z.string().optional() }),
          }),
        )
        .default([]),
      resolution: z
        .array(
          z.strictObject({
            systems: z.record(z.string(), z.array(z.string())),
            expect: z.strictObject({ status: z.string(), reason: z.string().optional() }),
          }),
        )
        .default([]),
    })
    .default({ mappings: [], resolution: [] }),
});

export type RuleSetFile = z.infer<typeof ruleSetFileSchema>;
