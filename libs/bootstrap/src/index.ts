export * from './startup.error';
export * from './connections';
export * from './statusview.database';
export * from './main.runner';
export * from './statusview.app';
