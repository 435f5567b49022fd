import type { RunSettings } from '../../contract';
import { DEFAULTS } from '../../config/defaults';
import type { WorkersConfig } from '../../config/types';

/**
 * The workers' part of a run's settings. The loaded config has its defaults filled in; a target
 * without a workers section still gets the default timeouts (the workflow sizes its steps by them).
 */
export function workerSettings(
  w: WorkersConfig | undefined,
): Pick<RunSettings, 'stopTimeoutSeconds' | 'startTimeoutSeconds' | 'restartBudgetSeconds' | 'startCommand'> {
  const d = w ?? DEFAULTS.workers;
  return {
    stopTimeoutSeconds: d.stopTimeoutSeconds,
    startTimeoutSeconds: d.startTimeoutSeconds,
    restartBudgetSeconds: d.restartBudgetSeconds,
    startCommand: w?.start,
  };
}
