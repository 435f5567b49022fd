/**
 * The settings a run has before its target's plan is known: the plan step's own, and what the CLI
 * assumes of a run whose plan it has not read. The targets file's defaults (config/defaults.ts) take
 * the same numbers from here, so the two cannot drift apart.
 */
import type { RunSettings } from './plan';

export const PLAN_DEFAULTS: RunSettings = {
  heartbeatTimeoutSeconds: 30,
  maximumAttempts: 3,
  approvalRequired: false,
  approvalTimeout: '24h',
  workersConfigured: false,
  storageConfigured: false,
  stopTimeoutSeconds: 120,
  startTimeoutSeconds: 120,
};
