/**
 * All activities, built from the worker's dependencies (the saga sample's createActivities shape).
 * Workflows import only the *type* `Activities` from here, never the implementations. Each one passes
 * through boundary.ts: its results and errors are redacted, its destructive steps run under the reset lock.
 */
import { createBackupActivities } from './backup';
import { atBoundary } from './boundary';
import { createDatabaseActivities } from './database';
import { createFleetActivities } from './fleet';
import { withDefaults } from './lib/deps';
import { collectSecrets, redactor } from './lib/secrets';
import type { ActivityDeps } from './lib/target';
import { createLockActivities } from './lock';
import { createNotifyActivities } from './notify';
import { createPlanActivities } from './plan';
import { createRestoreActivities } from './restore';
import { createStorageActivities } from './storage';
import { createVerifyActivities } from './verify';
import { createWorkerActivities } from './workers';

export function createActivities(given: ActivityDeps) {
  // The outside world once, here: the real one for whatever the caller did not pass (deps.ts).
  const deps: ActivityDeps = { ...given, ...withDefaults(given, given.env) };
  const raw = {
    ...createPlanActivities(deps),
    ...createBackupActivities(deps),
    ...createWorkerActivities(deps),
    ...createDatabaseActivities(deps),
    ...createStorageActivities(deps),
    ...createVerifyActivities(deps),
    ...createNotifyActivities(deps),
    ...createLockActivities(deps),
    ...createRestoreActivities(deps),
    ...createFleetActivities(deps),
  };
  return atBoundary(raw, deps, redactor(collectSecrets(deps.env, deps.targets)));
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDeps };
