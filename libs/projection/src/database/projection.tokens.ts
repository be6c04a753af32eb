/**
 * The connections the projection's providers use, given to `ProjectionModule.forRoot` by the
 * process entry. Not exported from the library: other libraries call the projection's
 * repositories and use cases, and a library with tables of its own gets its own connection.
 */
export const PROJECTION_DATA_SOURCE = Symbol('PROJECTION_DATA_SOURCE');
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

/** The key builder (RedisKeys): names, not a connection, so it is shared. */
export const REDIS_KEYS = Symbol('REDIS_KEYS');
