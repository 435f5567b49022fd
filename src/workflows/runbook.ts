/**
 * The production data reset runbook (docs/runbook.md), as a workflow.
 *
 *   0 plan · 1 backup · (approval) · 2 stop workers · 3 reset · 4 clean S3 · 5 start workers · 6 verify
 *   (with workers.startBeforePurge: … 3 reset · 5 start workers · 4 clean S3 · 6 verify)
 *
 * From the moment the workers are stopped, whatever ends the run — failure, abort, cancellation —
 * first starts them again. A step that fails after its retries does not end the run: the workers
 * are brought back, and the run waits for an operator's "retry" or "abort".
 *
 * Runs stay open for a day or more (approval, pauses): a change to the commands this code issues
 * goes behind patched('<change-id>') and follows docs/versioning.md (deprecatePatch, how long a
 * patch stays, `npm run replay:record`); test/replay proves recorded runs still replay.
 */
import { ApplicationFailure, CancellationScope, isCancellation, patched, workflowInfo } from '@temporalio/workflow';
import {
  backupProof,
  isPlainApproval,
  restoreCommand,
  verifyMismatchMessage,
  type HeartbeatProgress,
  type Plan,
  type ResetInput,
  type ResetResult,
} from '../contract';
import { lockActivities, planActivities, stepActivities } from './activities';
import { DEFAULTS } from '../config/defaults';
import { fourEyesPolicy } from './approvals';
import { Ending, releaseLock } from './ending';
import { checkInput, durationMs } from './input';
import { notify } from './notify';
import { Operator } from './operator';
import { RunProgress } from './progress';
import { planSummary, purgeDetail } from './run-lines';
import { messageOf, StepRunner } from './steps';
import { inStepSpan, traceRun } from './tracing';

/** The patches asked for after the plan and before the backup's activity (planLocal: asked first). */
const PATCHES_AFTER_THE_PLAN = [
  'start-workers-before-purge',
  'four-eyes',
  'one-reset-per-database',
  'reset-lock-local-activity',
] as const;

export async function productionDataReset(raw: ResetInput): Promise<ResetResult> {
  const input = checkInput(raw, workflowInfo().workflowId);
  traceRun(input.target, 'reset');
  const progress = new RunProgress(input.target, input.mode);
  const operator = new Operator(progress);
  const result: ResetResult = {
    target: input.target,
    mode: input.mode,
    outcome: 'planned',
    reason: input.reason,
    ...(input.startedBy ? { startedBy: input.startedBy } : {}),
  };
  const ending = new Ending(input.target, progress, result, {
    label: 'Reset',
    refusedType: 'ResetRefused',
    abortedType: 'ResetAborted',
    notify: (event) => notify(event, progress.state, result),
  });

  // 0 — plan: what will happen, with nothing changed. A plan run ends here.
  progress.started('plan');
  let plan: Plan;
  // The plan runs inside this workflow task (activities.ts says why); runs started before, as an activity.
  const planLocal = input.exactCounts !== true && patched('plan-local-activity');
  // Every patch the run asks for between the plan and its first activity is asked for now, before the plan. A patch
  // asked for after a local activity, in the workflow task that activity ended in, can replay as absent: the SDK
  // looks for its marker among that task's events, and the task may have been completed with the activity's marker
  // before the code after it ran (a query at that moment does it). Asked again later, a patch gives the same answer
  // and records no second marker.
  if (planLocal) for (const id of PATCHES_AFTER_THE_PLAN) patched(id);
  try {
    plan = await inStepSpan(input.target, 'plan', 1, () =>
      planActivities(planLocal).planReset({
        target: input.target,
        ...(input.exactCounts !== undefined ? { exactCounts: input.exactCounts } : {}),
      }),
    );
  } catch (err) {
    ending.planFailed(err);
    throw err;
  }
  result.plan = plan;
  progress.state.plan = plan;
  if (plan.attempt) progress.step('plan').attempts = plan.attempt; // the server's tries (ending.ts planFailed)
  progress.finished('plan', planSummary(plan));
  if (input.mode === 'plan') {
    return ending.end(
      'planned',
      'planned',
      'completed',
      plan.errors.length ? `The plan has errors: ${plan.errors.join('; ')}` : undefined,
    );
  }
  if (plan.errors.length) throw ending.refused(plan.errors.join('; '));
  if (input.confirmation !== undefined && input.confirmation !== plan.databaseName) {
    throw ending.refused(
      `confirmation "${input.confirmation}" does not match the database name "${plan.databaseName}"`,
    );
  }

  const s = plan.settings;
  const act = stepActivities(s);
  // workers.startBeforePurge: step 5 runs right after step 3, and every view lists it there from now on.
  const startFirst = s.startWorkersBeforePurge === true && patched('start-workers-before-purge');
  if (startFirst) progress.moveBefore('startWorkers', 'purgeStorage');
  // Four eyes: approvals counted by identity under the target's policy. Runs started before it replay
  // their one approval as they took it (docs/versioning.md).
  const policy = fourEyesPolicy('four-eyes', s, input.startedBy, (why) => ending.refused(why));
  const { runId, workflowId } = workflowInfo();

  // One reset per database, whatever the workflow id: the run claims its databases before anything is
  // touched (even the backup), every destructive step runs under the database's advisory lock, and the
  // claim is given back at the end (the finally below). Runs started before this existed go without.
  const lock = patched('one-reset-per-database') ? { workflowId, runId, target: input.target } : undefined;
  // Taken and given back by a local activity (activities.ts); runs started before, by an activity.
  const lockLocal = lock !== undefined && patched('reset-lock-local-activity');
  if (lock) {
    try {
      await lockActivities(s, lockLocal).acquireResetLock({ target: input.target, owner: lock });
    } catch (err) {
      throw ending.refused(messageOf(err));
    }
  }
  // The step runner stops and restarts the workers under this run's claim of the database.
  const runner = new StepRunner(input.target, s, progress, operator, {
    stopWorkers: (a) => act.stopWorkers({ ...a, lock }),
    restartWorkers: (seconds) => (a) => act.restartWorkers(seconds)({ ...a, lock }),
  });
  const step = runner.step.bind(runner);
  const stopWorkers = () => runner.stopWorkers();

  /**
   * A run that ends after its TRUNCATE committed says how to undo it. A reset step that
   * finished committed; one that failed after starting asks the journal (patched: histories from
   * before this call replay without it).
   */
  async function pointToRestore(): Promise<void> {
    const r = progress.step('reset');
    if (r.attempts === 0) return;
    const changed =
      r.status === 'done' ||
      (patched('issue8-restore-hint') &&
        (await CancellationScope.nonCancellable(() =>
          act.resetState({ target: input.target, runId }).then(
            (x) => x.databaseChanged,
            () => false,
          ),
        )));
    if (changed) result.restoreCommand = restoreCommand(input.target, runId);
  }

  try {
    // 1 — backup: a restorable file exists and its place is recorded.
    const takeBackup = (why?: string) =>
      step('backup', () => act.backup({ target: input.target }), {
        detail: (b) =>
          `${why ? `${why}: ` : ''}${b.files.map((f) => `${f.path} (${f.bytes} bytes, sha256 ${f.sha256.slice(0, 12)}…)`).join('; ')}; ${backupProof(b)}`,
      });
    let backup = await takeBackup();
    result.backup = backup;
    progress.state.backup = backup;

    /**
     * Freshness by construction: the backup that protects the TRUNCATE is at most backup.maxAgeMinutes
     * old when the TRUNCATE runs, however late the approval (or an operator's retry) comes. The backup
     * stays before the approval — the approver sees it exists, and a prompt approval costs no second
     * dump — and is refreshed when it would be too old; the refresh happens here, just before the
     * workers are stopped, so the time they are stopped never grows by a dump. The stop may take up to
     * its timeout, so that much is kept in hand (at most half the limit, for very short limits). Once
     * this run's TRUNCATE has committed, the backup taken before it is the one that counts: never refresh
     * then (it would dump the emptied database).
     */
    async function ensureFreshBackup(): Promise<void> {
      const maxMs = (s.backupMaxAgeMinutes ?? DEFAULTS.backup.maxAgeMinutes) * 60_000;
      const reserveMs = Math.min((s.stopTimeoutSeconds + 30) * 1000, maxMs / 2);
      const ageMs = Date.now() - Date.parse(backup.createdAt);
      if (ageMs + reserveMs <= maxMs) return;
      if (
        progress.step('reset').attempts > 0 &&
        (await act.resetState({ target: input.target, runId })).databaseChanged
      )
        return;
      backup = await takeBackup(
        `refreshed: the backup of ${backup.createdAt} would be older than ${s.backupMaxAgeMinutes ?? DEFAULTS.backup.maxAgeMinutes} min at the TRUNCATE`,
      );
      result.backup = backup;
      progress.state.backup = backup;
    }

    // Approval: a person saw the plan and typed the database's name.
    // Always for production (Rails' protected-environment check) and high risk; otherwise a
    // confirmation typed into the input may stand in for the signal.
    const isProduction = plan.environment === undefined || plan.environment === 'production';
    const mustAsk =
      input.requireApproval || s.approvalRequired || isProduction || plan.highRisk || input.confirmation === undefined;
    if (mustAsk) {
      await inStepSpan(input.target, 'approval', 1, () =>
        operator.approve(plan, durationMs(input.approvalTimeout ?? s.approvalTimeout), policy),
      );
      // Plain one-approval runs keep their result as before; the step's detail names the approver.
      if (policy && !isPlainApproval(policy)) result.approvals = operator.approvals;
    } else
      progress.skipped(
        'approval',
        `confirmed in the input ("${input.confirmation}"), environment "${plan.environment}"`,
      );

    // 2 — stop workers: no live Solid Queue process, no claimed execution.
    await ensureFreshBackup();
    // With the workers started before the purge, the blob keys are recorded before they stop as well: the
    // reset then records only the rows written since, and their downtime no longer grows with the files.
    // Best effort: without it the reset records every key itself, as it always did.
    let keysBefore: { rows: number; bytes: number } | undefined;
    if (startFirst && patched('blob-keys-before-stop')) {
      try {
        const k = await act.recordBlobKeys({ target: input.target, runId });
        keysBefore = { rows: k.blobs, bytes: k.bytes };
      } catch (err) {
        if (isCancellation(err)) throw err;
      }
    }
    if (s.workersConfigured) await stopWorkers();
    else progress.skipped('stopWorkers', 'no workers configured');

    // 3 — reset: record the blobs, then TRUNCATE + seeds.
    const reset = await step(
      'reset',
      () =>
        act.reset({
          target: input.target,
          runId,
          planDigest: plan.digest,
          backupCreatedAt: backup.createdAt,
          expectedBlobs: plan.blobs.count,
          backup,
          lock,
          ...(keysBefore ? { keysBefore } : {}),
        }),
      {
        needsWorkersStopped: true,
        beforeStop: ensureFreshBackup,
        // `truncated` is missing from results recorded before it existed (runs in flight across an upgrade).
        detail: (r) =>
          `${r.truncated ? `${r.truncated.rows} rows truncated (${r.kept.tables} kept tables: ${r.kept.rows} rows kept)` : `${Object.values(r.countsBefore).reduce((a, n) => a + n, 0)} rows before`}; ${r.manifest.blobs} blob keys recorded`,
      },
    );
    result.countsBefore = reset.countsBefore;
    result.countsAfter = reset.countsAfter;

    // 5 before 4 (workers.startBeforePurge): once the seeds ran, no row and no job can name a purged key,
    // so the workers need not wait for the purge; their downtime no longer grows with the files.
    const startWorkers = (note?: string) =>
      runner.startWorkers(() => act.startWorkers({ target: input.target, lock }), note);
    if (startFirst) await startWorkers(', before the purge (workers.startBeforePurge)');

    // 4 — clean S3: the recorded blobs' objects that nothing references any more.
    if (s.storageConfigured) {
      const purged = await step(
        'purgeStorage',
        (hb) =>
          act.purgeStorage({
            target: input.target,
            runId,
            expectedObjects: plan.objectsToDelete.count,
            resumeFrom: (hb as HeartbeatProgress | undefined)?.position,
            lock,
          }),
        { detail: purgeDetail },
      );
      // alreadyGone/missing are missing from results recorded before they existed.
      result.objectsDeleted = {
        count: purged.deleted,
        bytes: purged.bytes,
        errors: 0,
        alreadyGone: purged.alreadyGone ?? 0,
        missing: purged.missing ?? 0,
        missingSample: purged.missingSample ?? [],
        // Absent from results recorded before it, and when there were none.
        ...(purged.variants ? { variants: purged.variants } : {}),
      };
    } else progress.skipped('purgeStorage', 'no storage configured');

    // 5 — start workers: heartbeats come back.
    if (!startFirst) await startWorkers();

    // 6 — verify: the runbook's expected output. Counted inside the workflow task (activities.ts); runs started
    // before, as an activity.
    const countRows = patched('verify-local-activity') ? act.verifyLocal : act.verify;
    const verify = await step(
      'verify',
      async () => {
        const v = await countRows({ target: input.target });
        if (!v.ok) throw ApplicationFailure.nonRetryable(verifyMismatchMessage(v), 'VerifyMismatch', v);
        return v;
      },
      { detail: (v) => v.report.replace(/\n/g, ', ') },
    );
    result.verify = { ok: verify.ok, lines: verify.lines, report: verify.report, hints: verify.hints };
    result.accounts = verify.accounts;
    return await ending.completed();
  } catch (err) {
    throw await ending.failed(err, runner, pointToRestore);
  } finally {
    if (lock) await releaseLock(s, input.target, runId, lockLocal);
  }
}
