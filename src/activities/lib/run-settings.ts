import type { RunSettings } from '../../contract';
import { DEFAULTS } from '../../config/defaults';
import { approvalsRequired } from '../../config/schema-approval';
import type { TargetConfig, WorkersConfig } from '../../config/types';

/**
 * The four-eyes part of a run's settings: how many distinct approvals, from whom, and whether the starter's counts.
 * A reset's plan and a restore's alike, so a restore is approved under the same rules as the reset it undoes.
 */
export function approvalSettings(
  a: TargetConfig['approval'],
): Pick<RunSettings, 'approvalsRequired' | 'approvers' | 'allowSelfApproval'> {
  return {
    approvalsRequired: approvalsRequired(a.required),
    ...(a.approvers?.length ? { approvers: a.approvers } : {}),
    allowSelfApproval: a.allowSelfApproval,
  };
}

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
