export * from './test-env';
export * from './debezium.builder';
export * from './test-app';
