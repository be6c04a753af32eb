export * from './metrics';
export * from './background-jobs';
