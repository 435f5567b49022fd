/** Finding the reset run to undo, and its backup record. */
import { WorkflowFailedError, type Client as TemporalClient } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { BackupRecord, ResetResult } from '../../workflows/definitions';
import { resetWorkflowId } from '../../workflows/definitions';

export interface RestorePlanArgs {
  target: string;
  resetRunId?: string;
  backupPath?: string;
}

/** The reset run's backup record and countsBefore, read from its result in Temporal (a failed run carries it in its failure). */
export async function findResetRun(client: TemporalClient, target: string, args: RestorePlanArgs): Promise<{ resetRunId: string; backup: BackupRecord; countsBefore?: Record<string, number> }> {
  const workflowId = resetWorkflowId(target);
  const candidates: string[] = [];
  if (args.resetRunId) candidates.push(args.resetRunId);
  else if (!args.backupPath) candidates.push((await client.workflow.getHandle(workflowId).describe()).runId);
  else for await (const w of client.workflow.list({ query: `WorkflowId = "${workflowId}"`, pageSize: 20 })) if (candidates.push(w.runId) >= 20) break;
  for (const runId of candidates) {
    const h = client.workflow.getHandle(workflowId, runId, { followRuns: false });
    const d = await h.describe();
    if (d.status.name === 'RUNNING') {
      if (args.resetRunId || !args.backupPath)
        throw ApplicationFailure.nonRetryable(`Reset run ${runId} of "${target}" is still running; let it end (or abort it) before restoring.`, 'RestoreRefused');
      continue;
    }
    const r = await resultOf(h.result());
    if (!r?.backup) {
      if (args.backupPath) continue;
      throw ApplicationFailure.nonRetryable(`Reset run ${runId} of "${target}" recorded no backup (it ended ${r?.endReason ?? d.status.name}); give another run with --run.`, 'RestoreRefused');
    }
    if (args.backupPath && !r.backup.files.some((f) => f.path === args.backupPath)) {
      if (args.resetRunId) throw ApplicationFailure.nonRetryable(`Reset run ${runId} did not take ${args.backupPath} (it took ${r.backup.files.map((f) => f.path).join(', ')}).`, 'RestoreRefused');
      continue;
    }
    return { resetRunId: runId, backup: r.backup, countsBefore: r.countsBefore };
  }
  throw ApplicationFailure.nonRetryable(
    args.backupPath ? `No recent reset run of "${target}" recorded ${args.backupPath}: without a record its checksum cannot be checked, so it is not restored.` : `No reset run of "${target}" found.`,
    'RestoreRefused',
  );
}

async function resultOf(p: Promise<unknown>): Promise<ResetResult | undefined> {
  try {
    return (await p) as ResetResult;
  } catch (err) {
    if (err instanceof WorkflowFailedError) {
      let c: unknown = err.cause;
      while (c) {
        const details = (c as ApplicationFailure).details;
        if (details?.length) return details[0] as ResetResult;
        c = (c as { cause?: unknown }).cause;
      }
      return undefined;
    }
    throw err;
  }
}
