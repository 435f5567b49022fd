/** Workflow entry points registered by the worker. One workflow type per procedure. */
export { productionDataReset } from './runbook';
export { restoreFromBackup } from './restore';
export { backupDrill } from './drill';
export { resetFleet } from './fleet';
