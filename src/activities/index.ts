/**
 * All activities, built from the worker's dependencies (the saga sample's createActivities shape).
 * Workflows import only the *type* `Activities` from here, never the implementations.
 */
import { createBackupActivities } from './backup';
import { createDatabaseActivities } from './database';
import type { ActivityDeps } from './lib/target';
import { createNotifyActivities } from './notify';
import { createPlanActivities } from './plan';
import { createRestoreActivities } from './restore';
import { createStorageActivities } from './storage';
import { createVerifyActivities } from './verify';
import { createWorkerActivities } from './workers';

export function createActivities(deps: ActivityDeps) {
  return {
    ...createPlanActivities(deps),
    ...createBackupActivities(deps),
    ...createWorkerActivities(deps),
    ...createDatabaseActivities(deps),
    ...createStorageActivities(deps),
    ...createVerifyActivities(deps),
    ...createNotifyActivities(deps),
    ...createRestoreActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDeps };
