export * from './test-env';

export * from './test-app';
export * from './servers/private-redis';
export * from './servers/private-postgres';
export * from './servers/private-rabbitmq';
export * from './servers/cdc-publisher';
export * from './servers/service-env';
export * from './servers/service-process';
export { freePort } from './servers/process-tools';
export * from './kafka-mock-cluster';
export * from './random-change-stream';
export * from './kafka-commit.audit';
export * from './servers/legacy-replica';
export * from './servers/freezing-proxy';
export * from './servers/legacy-mysql';
export * from './servers/private-mariadb';
export * from './rule-set-fixtures';
