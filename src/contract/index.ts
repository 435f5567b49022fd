/**
 * The contract every layer reads: the CLI, the activities, the workflows, the config, tests, benches
 * and fault scenarios. It imports nothing of ours (an ESLint rule keeps it so) and only
 * `@temporalio/common` and `@temporalio/workflow`'s define* functions of anyone else's, so any layer
 * may import it, the workflow sandbox included. Import from here ('../contract'), not from its files.
 */
export * from './approval';
export * from './approval-record';
export * from './backup';
export * from './failures';
export * from './fleet';
export * from './format';
export * from './metrics';
export * from './ids';
export * from './notify';
export * from './plan';
export * from './plan-defaults';
export * from './reset';
export * from './restore';
export * from './run-state';
export * from './signals';
export * from './steps';
export * from './tracing';
