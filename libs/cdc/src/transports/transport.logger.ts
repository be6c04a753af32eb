/** The little a transport needs from a logger (Nest's Logger and pino both fit). */
export interface TransportLogger {
  debug(message: string): void;
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}
