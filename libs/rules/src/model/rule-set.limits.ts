/**
 * What a rule set may hold. Each limit is refused with a problem at its path, before anything
 * expensive runs. `statuses` is a limit of the evaluation itself (one bit per status in a 32-bit
 * mask per system) and holds for every rule set; the others bound what a new rule set may bring
 * (a document, a draft, a publish) and are not applied again to versions stored before them, so
 * that those still load and can be rolled back from.
 */
export const RULE_SET_LIMITS = {
  /** Canonical statuses: one bit each in a system's 32-bit status mask. */
  statuses: 32,
  /** Bytes of a status name in UTF-8: a status is the routing key of its change messages, and RabbitMQ's limit is 255. */
  statusNameBytes: 255,
  /** Bytes of a rule set document as YAML or JSON text. */
  documentBytes: 512 * 1024,
  /** Mapping tables (systems). */
  tables: 64,
  /** Inputs of one mapping table. */
  inputsPerTable: 64,
  /** Rows of one mapping table, and of the resolution table. */
  rulesPerTable: 5_000,
  /** Examples in `examples.mappings`, and in `examples.resolution`. */
  examples: 5_000,
  /** Nesting of `anyOf` / `allOf` in a resolution condition. */
  conditionDepth: 16,
  /** Characters of a rule id (it is stored as the reason of every customer it decides). */
  idLength: 128,
  /** Characters of a rule description. */
  descriptionLength: 1_000,
} as const;

// Control characters, format characters (bidi overrides, zero-width ones), line and paragraph
// separators, and halves of surrogate pairs (not encodable in UTF-8: RabbitMQ would get U+FFFD).
const UNSAFE_IN_NAME = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

/** Why a status name cannot be one, or undefined if it can. */
export function statusNameProblem(name: string): string | undefined {
  const unsafe = UNSAFE_IN_NAME.exec(name);
  if (unsafe) {
    const code = unsafe[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    return `a status name cannot hold control, format or separator characters (U+${code} at character ${unsafe.index + 1})`;
  }
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > RULE_SET_LIMITS.statusNameBytes) {
    return `a status name is at most ${RULE_SET_LIMITS.statusNameBytes} bytes in UTF-8 (it is the routing key of status change messages, and RabbitMQ allows no more); this one is ${bytes}`;
  }
  return undefined;
}
