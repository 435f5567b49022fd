/**
 * Undo a reset: restore the backup a reset run took, and bring back the objects its purge
 * quarantined.
 *
 *   0 plan · (approval) · 2 stop workers · 3 restore the database · 4 bring back S3 files · 5 start workers · 6 verify
 *
 * The same step runner as the reset (steps.ts): from the moment the workers are stopped, whatever
 * ends the run first starts them again; a step that fails its attempts waits for "retry" or "abort".
 */
import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import {
  isPlainApproval,
  stepsOf,
  type RestoreInput,
  type RestorePlan,
  type RestoreResult,
  type StepName,
} from '../contract';
import { lockActivities, restoreActivities, stepActivities } from './activities';
import { fourEyesPolicy } from './approvals';
import { Ending, releaseLock } from './ending';
import { durationMs } from './input';
import { Operator } from './operator';
import { RunProgress } from './progress';
import { checkRestoreInput } from './restore-input';
import { messageOf, StepRunner } from './steps';
import { traceRun } from './tracing';

const RESTORE_STEPS: StepName[] = stepsOf('restore');

export async function restoreFromBackup(raw: RestoreInput): Promise<RestoreResult> {
  const input = checkRestoreInput(raw, workflowInfo().workflowId);
  traceRun(input.target, 'restore');
  const progress = new RunProgress(input.target, 'execute', RESTORE_STEPS, 'restore');
  progress.state.kind = 'restore';
  const operator = new Operator(progress);
  const workers = progress.state.workers;
  const result: RestoreResult = {
    target: input.target,
    outcome: 'failed',
    ...(input.startedBy ? { startedBy: input.startedBy } : {}),
  };
  const ending = new Ending(input.target, progress, result, {
    label: 'Restore',
    refusedType: 'RestoreRefused',
    abortedType: 'RestoreAborted',
  });

  // 0 — plan: which backup, its checksum, the counts it holds, what the database holds now.
  progress.started('plan');
  let plan: RestorePlan;
  try {
    plan = await restoreActivities().plan({
      target: input.target,
      resetRunId: input.resetRunId,
      backupPath: input.backupPath,
      ...(input.discardNewerRows ? { discardNewerRows: true } : {}),
    });
  } catch (err) {
    const why = ending.planFailed(err);
    throw ending.failure('RestorePlanFailed', `: ${why}`);
  }
  result.plan = plan;
  progress.state.restorePlan = plan;
  progress.finished('plan', planSummary(plan));
  if (plan.errors.length) throw ending.refused(plan.errors.join('; '));
  if (input.confirmation !== undefined && input.confirmation !== plan.databaseName) {
    throw ending.refused(
      `confirmation "${input.confirmation}" does not match the database name "${plan.databaseName}"`,
    );
  }

  const s = plan.settings;
  // Four eyes, as for a reset: the target's approval rules, the starter from the input. Restores started before
  // this count one approval from anyone, as they did (docs/versioning.md).
  const policy = fourEyesPolicy('four-eyes-restore', s, input.startedBy, (why) => ending.refused(why));
  // One destructive run per database: a restore claims it like a reset, so neither runs beside the other.
  const { runId, workflowId } = workflowInfo();
  const lock = { workflowId, runId, target: input.target };
  try {
    await lockActivities(s).acquireResetLock({ target: input.target, owner: lock });
  } catch (err) {
    throw ending.refused(messageOf(err));
  }
  const workerActs = stepActivities(s);
  const runner = new StepRunner(input.target, s, progress, operator, {
    stopWorkers: (a) => workerActs.stopWorkers({ ...a, lock }),
    restartWorkers: (seconds) => (a) => workerActs.restartWorkers(seconds)({ ...a, lock }),
  });
  const act = restoreActivities(s);
  try {
    // A restore replaces what the database holds now: a person always approves it, with the database's name.
    await operator.approve(plan, durationMs(input.approvalTimeout ?? s.approvalTimeout), policy);
    // Plain one-approval restores keep their result as before; the step's detail names the approver.
    if (policy && !isPlainApproval(policy)) result.approvals = operator.approvals;

    // 2 — stop workers: nothing writes while the tables are emptied and reloaded.
    if (s.workersConfigured) await runner.stopWorkers();
    else progress.skipped('stopWorkers', 'no workers configured');

    // 3 — restore: TRUNCATE + the backup's rows and sequences, one transaction per database.
    const restored = await runner.step(
      'restore',
      async () => {
        // Under the database's advisory lock, as every destructive reset step: no other destructive
        // step (an earlier attempt still running on a cut-off worker) runs beside it.
        const r = await act.restoreDatabase({
          target: input.target,
          backup: plan.backup,
          expected: plan.countsInBackup,
          resetRunId: plan.resetRunId,
          lock,
        });
        // The transaction checked every table against the backup's stream before its COMMIT: a count
        // that differs right after it was changed since, by something still writing to the database.
        if (r.mismatches.length)
          throw ApplicationFailure.nonRetryable(
            `Right after the restore's COMMIT, counts differ from what its transaction checked in:\n${r.mismatches.join('\n')}\n(Something wrote to these tables after the COMMIT; the restore had loaded every row of the backup.)`,
            'VerifyMismatch',
          );
        return {
          tables: r.tables,
          rows: r.rows,
          queueDrift: r.queueDrift,
          drift: r.drift ?? [],
          counts: r.counts,
          requeued: r.requeued ?? 0,
        };
      },
      {
        needsWorkersStopped: true,
        detail: (r) =>
          `${r.rows} rows in ${r.tables} tables restored from ${plan.backup.files.map((f) => f.path).join(', ')}` +
          (r.requeued ? `; ${r.requeued} job(s) claimed by a worker at backup time put back as ready` : '') +
          (r.drift.length
            ? `; rows written between the backup and the reset's TRUNCATE are in no backup: ${r.drift.join('; ')}`
            : '') +
          (r.queueDrift.length
            ? `; Solid Queue tables differ from the reset's count taken after the workers stopped (jobs they ran after the backup): ${r.queueDrift.join('; ')}`
            : ''),
      },
    );
    result.restored = { tables: restored.tables, rows: restored.rows };

    // 4 — bring back the objects the reset's purge quarantined; what cannot come back is counted (the plan knew it
    // before the approval).
    const lost = plan.objectsMissing;
    if (lost) result.objectsMissing = lost;
    if (plan.quarantine && plan.resetRunId) {
      const resetRunId = plan.resetRunId;
      const from = [
        ...(plan.quarantine.bucket ? [`${plan.quarantine.bucket}/${plan.quarantine.prefix}`] : []),
        ...(plan.quarantine.folders ?? []),
      ].join(', ');
      const back = await runner.step(
        'restoreStorage',
        () => act.restoreStorage({ target: input.target, resetRunId, lock }),
        {
          detail: (r) =>
            `${r.count} objects (${r.bytes} bytes) brought back from ${from}${lost ? `; ${lost} purged file(s) cannot come back: their blob rows point at missing files` : ''}`,
        },
      );
      result.objectsRestored = back;
    } else if (!s.storageConfigured) progress.skipped('restoreStorage', 'no storage configured');
    else
      progress.skipped(
        'restoreStorage',
        lost
          ? `no storage.quarantine: the ${lost} file(s) the reset's purge deleted (S3 objects and Disk files alike) are gone for good; their restored blob rows point at missing files`
          : "no storage.quarantine: what the reset's purge deleted (S3 objects and Disk files alike) is gone for good and cannot come back",
      );

    // 5 — start workers.
    if (runner.stoppedByUs() && s.startWorkersAtEnd === false) {
      runner.leaveStopped();
      progress.skipped(
        'startWorkers',
        'left stopped: none was alive before the restore (workers.whenNoneAliveBefore "leave")',
      );
    } else if (runner.stoppedByUs()) {
      await runner.step('startWorkers', () => workerActs.startWorkers({ target: input.target, lock }), {
        detail: (w) => `${w.alive} process(es) alive`,
      });
      workers.status = 'running';
    } else progress.skipped('startWorkers', s.workersConfigured ? 'workers already running' : 'no workers configured');

    // 6 — verify: every table holds what the backup held (as the restore counted it; runs from before it, the reset's
    // counts).
    const expected = restored.counts ?? plan.countsInBackup ?? {};
    const v = await runner.step(
      'verify',
      async () => {
        const r = await act.verify({ target: input.target, expected, workersRunning: workers.status === 'running' });
        if (!r.ok)
          throw ApplicationFailure.nonRetryable(
            restored.counts
              ? `After the restore, counts differ from what the restore loaded from the backup:\n${r.mismatches.join('\n')}\n(Something wrote to these tables after the restore, which had loaded every row of the backup.)`
              : `After the restore, counts differ from the backup's:\n${r.mismatches.join('\n')}\n(Rows written between the backup and the reset's TRUNCATE are not in the backup.)`,
            'VerifyMismatch',
            r,
          );
        return r;
      },
      { detail: () => `${Object.keys(expected).length} tables hold the backup's counts` },
    );
    result.verify = v;
    return await ending.completed(
      result.objectsMissing ? `completed, but ${result.objectsMissing} purged file(s) did not come back` : undefined,
    );
  } catch (err) {
    throw await ending.failed(err, runner);
  } finally {
    await releaseLock(s, input.target, runId);
  }
}

function planSummary(p: RestorePlan): string {
  const inBackup = p.tables.reduce((a, t) => a + (t.rowsInBackup ?? 0), 0);
  const now = p.tables.reduce((a, t) => a + t.rowsNow, 0);
  const q =
    (p.quarantine ? `, ${p.quarantine.objects} quarantined objects to bring back` : '') +
    (p.objectsMissing ? `, ${p.objectsMissing} purged files cannot come back` : '');
  return `backup of ${p.backup.createdAt} (${p.backupAgeMinutes} min old, checksum ${p.checksumsOk ? 'ok' : 'MISMATCH'}) from reset run ${p.resetRunId ?? '?'}: ${p.tables.length} tables, ${inBackup} rows in the backup, ${now} now${q}${p.errors.length ? `; ${p.errors.length} error(s)` : ''}`;
}
