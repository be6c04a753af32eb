export * from './metrics';
export * from './background-jobs';
export * from './consumer-health';
