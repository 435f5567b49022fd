/**
 * The restore drill on demand (`reset-runbook drill <target>`): a fresh backup of the target, proven
 * by restoring it into a scratch database and comparing every table's rows with the source (the
 * backup step's backup.verify "restore", whatever the targets file says). The backup is a real one,
 * kept under backup.keep like a reset's. It claims the target's databases like a reset, so a drill
 * never runs beside a reset or a restore of them (their backups share a folder).
 */
import { ApplicationFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { PLAN_DEFAULTS, type BackupRecord } from '../contract';
import { lockActivities } from './activities';
import { releaseLock } from './ending';

export interface DrillInput {
  target: string;
}

export async function backupDrill(input: DrillInput): Promise<BackupRecord> {
  if (!input || typeof input.target !== 'string' || !input.target)
    throw ApplicationFailure.nonRetryable('backupDrill takes {"target": "<name>"}', 'BadInput');
  const { runId, workflowId } = workflowInfo();
  const lock = { workflowId, runId, target: input.target };
  const { backupDatabase } = proxyActivities<Activities>({
    summary: '1 Backup the database (restore drill)',
    startToCloseTimeout: '12h',
    heartbeatTimeout: `${PLAN_DEFAULTS.heartbeatTimeoutSeconds}s`,
    // A lost worker is retried; a drill that found a difference (non-retryable) is the answer.
    retry: {
      initialInterval: '2s',
      backoffCoefficient: 2,
      maximumInterval: '60s',
      maximumAttempts: PLAN_DEFAULTS.maximumAttempts,
    },
  });
  await lockActivities(PLAN_DEFAULTS).acquireResetLock({ target: input.target, owner: lock });
  try {
    return await backupDatabase({ target: input.target, verify: 'restore' });
  } finally {
    await releaseLock(PLAN_DEFAULTS, input.target, runId);
  }
}
