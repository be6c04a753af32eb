export * from './change-event.model';
export * from './change-event.errors';
export * from './change-event.factory';
export { positionOf, isNewer } from './source-position';
export { normalizeRow, normalizeField } from './field-normalizer';
export { exceedsDepth } from './json-depth';
