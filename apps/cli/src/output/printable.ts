// Control characters (C0 but the tab, C1, DEL), format characters (bidi overrides, zero-width
// ones) and line or paragraph separators: what can move the cursor, recolour or rewrite a
// terminal, or start a line that was not printed as one. Tabs separate columns (`tokens list`).
const UNPRINTABLE = /[^\P{Cc}\t]|[\p{Cf}\p{Zl}\p{Zp}]/gu;
const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r' };

/**
 * A line as it is safe to print: names and values from a rule set or a legacy row (a status,
 * a rule id, a customer id) can hold escape sequences or newlines, which would forge output
 * lines or drive the terminal. Each such character is shown as an escape (`\n`, `\u001b`).
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => SHORT[c] ?? `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`);
}
