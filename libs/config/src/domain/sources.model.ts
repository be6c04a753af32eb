/** How a field's value arrives in a Debezium event, so it can be normalized before the rules see it. */
export type FieldType =
  | 'string'
  | 'integer'
  | 'number'
  | 'boolean'
  /** ISO-8601 string (Debezium's ZonedTimestamp) or epoch milliseconds */
  | 'timestamp'
  | 'timestamp-millis'
  | 'timestamp-micros'
  | 'json';

export type CustomerKeyStep = 'trim' | 'upper' | 'lower';

export interface SourceConnection {
  dialect: 'postgres' | 'mysql';
  /** Name of the environment variable holding a read-only connection URL. */
  urlEnv: string;
}

export interface SourceSystem {
  name: string;
  topic: string;
  table: string;
  recordKey: string[];
  customerKey: string;
  connection?: SourceConnection;
  /** `debezium` (the default): Debezium JSON messages over the configured transport; `direct`: the database's replication stream or binlog. */
  changes?: 'debezium' | 'direct';
  /**
   * Debezium's `unavailable.value.placeholder` (default `__debezium_unavailable_value`): a column
   * sent with it (as text, or base64 of it for a binary column) was not in the change (an
   * unchanged TOASTed value) and keeps its stored value.
   */
  unavailableValue?: string;
  fields: Record<string, FieldType>;
}

export interface SourcesConfig {
  customerKey: { normalize: CustomerKeyStep[] };
  systems: SourceSystem[];
}
