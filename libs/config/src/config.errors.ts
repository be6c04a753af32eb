/**
 * A problem the operator fixes (a setting, a grant, a server, a command's argument), not a bug:
 * entry points print its message as it is, with no stack trace.
 */
export class OperatorError extends Error {}

/** Configuration that cannot be used; the message lists every problem, each naming its variable or file path. */
export class ConfigError extends OperatorError {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: string[]) {
    super(`configuration is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}
