/** The little a transport needs from a logger (Nest's Logger and pino both fit). */
export interface TransportLogger {
  /** An object becomes the fields of one JSON log line (pino), with its `msg`. */
  debug(message: string | Record<string, unknown>): void;
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}
