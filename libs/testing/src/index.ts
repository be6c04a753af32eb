export * from './test-env';

export * from './test-app';
export * from './private-servers';
export * from './kafka-mock-cluster';
export * from './random-change-stream';
export * from './kafka-commit.audit';
