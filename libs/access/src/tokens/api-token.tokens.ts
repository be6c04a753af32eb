/** The database holding `api_token`, the Redis on which revocations are announced, and its key names. Private to this library. */
export const API_TOKEN_DATA_SOURCE = Symbol('API_TOKEN_DATA_SOURCE');
export const API_TOKEN_REDIS = Symbol('API_TOKEN_REDIS');
export const API_TOKEN_REDIS_KEYS = Symbol('API_TOKEN_REDIS_KEYS');
