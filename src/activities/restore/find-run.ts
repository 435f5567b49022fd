/**
 * Finding the reset run to undo, and what a restore needs of it: its backup record, the counts before
 * its TRUNCATE and after its seeds, and proof that the TRUNCATE committed.
 *
 * Read from the run's journal in the backup store, not from its result: the journal is written before
 * the TRUNCATE commits and survives whatever ends the run (failed seeds, an abort, a killed worker, a
 * run terminated from the Web UI, a lost worker host), while a result exists only when the workflow
 * code itself wrote the ending. Runs from before the journal held the backup fall back to the result.
 */
import { WorkflowFailedError, WorkflowNotFoundError, type Client as TemporalClient } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { type BackupRecord, type ResetResult, resetWorkflowId } from '../../contract';
import { databaseChanged, JOURNAL_PREFIX, journalRunId, readJournal, type Journal } from '../journal';
import { backupStoreFor } from '../lib/backup-store';
import type { ResolvedTarget } from '../lib/target';

export interface RestorePlanArgs {
  target: string;
  resetRunId?: string;
  backupPath?: string;
  /** The operator accepts that rows written after the reset are discarded (listed in the plan). */
  discardNewerRows?: boolean;
}

export interface RestorePoint {
  resetRunId: string;
  backup: BackupRecord;
  countsBefore: Record<string, number>;
  /** Counts when the reset step last ended; undefined when it never got that far. */
  countsAfter?: Record<string, number>;
  seedsFinished?: boolean;
  /** Where the restore point was read: the journal (any ending), or the result of an older run. */
  source: 'journal' | 'result';
  restoredBy?: Journal['restoredBy'];
}

const refuse = (message: string) => ApplicationFailure.nonRetryable(message, 'RestoreRefused');

/** The restore point: of the run given, else the latest run of the target whose TRUNCATE committed. */
export async function findResetRun(
  client: TemporalClient,
  t: ResolvedTarget,
  args: RestorePlanArgs,
): Promise<RestorePoint> {
  if (args.resetRunId) return pointOfRun(client, t, args.resetRunId, args.backupPath);
  const store = backupStoreFor(t.config.backup, t.s3);
  const journals = (await store.list(`${JOURNAL_PREFIX}${t.name}_`))
    .map((i) => ({ ...i, runId: journalRunId(i.name, t.name) }))
    .filter((i): i is typeof i & { runId: string } => i.runId !== undefined)
    .sort((a, b) => b.modified.getTime() - a.modified.getTime());
  for (const j of journals) {
    const journal = await readJournal(t, j.runId);
    if (!journal.countsBefore || !(await databaseChanged(t, journal))) continue;
    if (args.backupPath && !journal.backup?.files.some((f) => f.path === args.backupPath)) continue;
    await refuseIfRunning(client, t.name, j.runId);
    const point = journal.backup
      ? journalPoint(j.runId, journal, journal.backup)
      : await pointFromResult(client, t, j.runId, args.backupPath, 0, journal);
    if (point.restoredBy && !args.backupPath) {
      throw refuse(
        `The latest reset run of "${t.name}" whose TRUNCATE committed, ${j.runId}, was already undone by restore run ${point.restoredBy.runId} at ${point.restoredBy.at}. To restore its backup again, give it: --run ${j.runId}.`,
      );
    }
    return point;
  }
  // Runs from before the journal held the backup: the latest run's result.
  return pointFromResult(client, t, undefined, args.backupPath, journals.length);
}

async function pointOfRun(
  client: TemporalClient,
  t: ResolvedTarget,
  runId: string,
  backupPath?: string,
): Promise<RestorePoint> {
  await refuseIfRunning(client, t.name, runId);
  const journal = await readJournal(t, runId);
  if (journal.countsBefore && journal.backup) {
    if (!(await databaseChanged(t, journal))) {
      throw refuse(
        `Reset run ${runId} of "${t.name}" never committed a TRUNCATE (its journal says so, and PostgreSQL agrees): it did not change the database, so there is nothing to undo.`,
      );
    }
    if (backupPath && !journal.backup.files.some((f) => f.path === backupPath)) {
      throw refuse(
        `Reset run ${runId} did not take ${backupPath} (it took ${journal.backup.files.map((f) => f.path).join(', ')}).`,
      );
    }
    return journalPoint(runId, journal, journal.backup);
  }
  return pointFromResult(client, t, runId, backupPath, 0, journal);
}

/** The restore point a journal holds (its TRUNCATE checked as committed by the caller). */
function journalPoint(runId: string, journal: Journal, backup: BackupRecord): RestorePoint {
  return {
    resetRunId: runId,
    backup,
    countsBefore: journal.countsBefore!,
    countsAfter: journal.countsAfter,
    seedsFinished: journal.seedsFinished,
    source: 'journal',
    restoredBy: journal.restoredBy,
  };
}

/** Refuses while the reset run still runs: it may still truncate, seed or purge. */
async function refuseIfRunning(client: TemporalClient, target: string, runId: string): Promise<void> {
  const d = await client.workflow
    .getHandle(resetWorkflowId(target), runId, { followRuns: false })
    .describe()
    .catch((err) => {
      // A run whose history the server no longer keeps (retention) is over; its journal still tells.
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    });
  if (d?.status.name === 'RUNNING') {
    throw refuse(
      `Reset run ${runId} of "${target}" is still running; let it end (or abort it: reset-runbook abort reset-${target}) before restoring.`,
    );
  }
}

/** Older runs: the backup and counts from the run's result (a failed run carries it in its failure). */
async function pointFromResult(
  client: TemporalClient,
  t: ResolvedTarget,
  runId: string | undefined,
  backupPath: string | undefined,
  journalsSeen: number,
  journal?: Journal,
): Promise<RestorePoint> {
  const workflowId = resetWorkflowId(t.name);
  const candidates: string[] = [];
  if (runId) candidates.push(runId);
  else {
    for await (const w of client.workflow.list({ query: `WorkflowId = "${workflowId}"`, pageSize: 20 }))
      if (candidates.push(w.runId) >= 20) break;
  }
  for (const id of candidates) {
    const h = client.workflow.getHandle(workflowId, id, { followRuns: false });
    const d = await h.describe().catch((err) => {
      if (err instanceof WorkflowNotFoundError)
        throw refuse(
          `No reset run ${id} of "${t.name}" in Temporal, and no journal of it in the backup store: check the run id (reset-runbook list ${t.name}).`,
        );
      throw err;
    });
    if (d.status.name === 'RUNNING') continue;
    const r = await resultOf(h.result());
    const countsBefore = r?.countsBefore ?? journal?.countsBefore;
    if (!r?.backup || !countsBefore) {
      if (!runId) continue;
      throw refuse(
        `Reset run ${id} of "${t.name}" recorded no backup and no counts before a TRUNCATE (it ended ${r?.endReason ?? d.status.name} before it truncated): there is nothing to undo.`,
      );
    }
    if (backupPath && !r.backup.files.some((f) => f.path === backupPath)) {
      if (runId)
        throw refuse(
          `Reset run ${id} did not take ${backupPath} (it took ${r.backup.files.map((f) => f.path).join(', ')}).`,
        );
      continue;
    }
    return {
      resetRunId: id,
      backup: r.backup,
      countsBefore,
      countsAfter: r.countsAfter,
      seedsFinished: r.outcome === 'completed' || undefined,
      source: 'result',
    };
  }
  throw refuse(
    backupPath
      ? `No reset run of "${t.name}" recorded ${backupPath}: without a record its checksum cannot be checked, so it is not restored.`
      : `No reset run of "${t.name}" committed a TRUNCATE (${journalsSeen} journal(s) in the backup store checked, and the recent runs' results): there is nothing to undo.`,
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
