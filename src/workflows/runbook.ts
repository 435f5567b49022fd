/**
 * The production data reset runbook (shared/runbook/production-data-reset.md), as a workflow.
 *
 *   0 plan · 1 backup · (approval) · 2 stop workers · 3 reset · 4 clean S3 · 5 start workers · 6 verify
 *
 * From the moment the workers are stopped, whatever ends the run — failure, abort, cancellation —
 * first starts them again. A step that fails after its retries does not end the run: the workers
 * are brought back, and the run waits for an operator's "retry" or "abort".
 */
import { ApplicationFailure, CancellationScope, isCancellation, log, workflowInfo } from '@temporalio/workflow';
import type { Plan, ResetInput, ResetResult, StepName } from './definitions';
import { planActivities, stepActivities } from './activities';
import { checkInput, durationMs } from './input';
import { notify } from './notify';
import { AbortRequested, Operator } from './operator';
import { RunProgress } from './progress';

export async function productionDataReset(raw: ResetInput): Promise<ResetResult> {
  const input = checkInput(raw, workflowInfo().workflowId);
  const progress = new RunProgress(input.target, input.mode);
  const operator = new Operator(progress);
  const result: ResetResult = { target: input.target, mode: input.mode, outcome: 'planned', reason: input.reason };
  const end = (outcome: ResetResult['outcome'], message?: string): ResetResult => {
    result.outcome = outcome;
    result.message = message;
    result.stepDurationsMs = progress.durations();
    progress.outcome(outcome);
    return result;
  };

  // 0 — plan: what will happen, with nothing changed. A plan run ends here.
  progress.started('plan');
  let plan: Plan;
  try {
    plan = await planActivities().planReset({ target: input.target });
  } catch (err) {
    progress.failed('plan', messageOf(err), false);
    progress.phase('failed');
    end('failed', messageOf(err));
    throw err;
  }
  result.plan = plan;
  progress.state.plan = plan;
  progress.finished('plan', planSummary(plan));
  if (input.mode === 'plan') {
    progress.phase('completed');
    return end('planned', plan.errors.length ? `The plan has errors: ${plan.errors.join('; ')}` : undefined);
  }
  const refuse = (why: string) => {
    progress.phase('failed');
    end('rejected', why);
    return ApplicationFailure.nonRetryable(`Reset of "${input.target}" refused; nothing was touched: ${why}`, 'ResetRefused', result);
  };
  if (plan.errors.length) throw refuse(plan.errors.join('; '));
  if (input.confirmation !== undefined && input.confirmation !== plan.databaseName) {
    throw refuse(`confirmation "${input.confirmation}" does not match the database name "${plan.databaseName}"`);
  }

  const s = plan.settings;
  const act = stepActivities(s);
  const { runId } = workflowInfo();
  // Whether this run stopped the workers and has not yet seen them running again; the progress
  // query shows it, and every ending of the run consults it.
  const state = progress.state;

  /** Runs one step; after its retries are spent, brings the workers back and waits for an operator. */
  async function step<T>(name: StepName, run: () => Promise<T>, opts: { needsWorkersStopped?: boolean; detail?: (r: T) => string } = {}): Promise<T> {
    for (;;) {
      operator.throwIfAborted();
      if (opts.needsWorkersStopped && s.workersConfigured && !state.workersStoppedByUs) await stopWorkers();
      if (name === 'stopWorkers') state.workersStoppedByUs = true; // a half-done stop still needs undoing
      progress.started(name);
      try {
        const r = await run();
        progress.finished(name, opts.detail?.(r));
        return r;
      } catch (err) {
        if (isCancellation(err)) throw err;
        const message = messageOf(err);
        log.warn('Step failed after its retries; waiting for an operator', { step: name, error: message });
        if (state.workersStoppedByUs && name !== 'startWorkers') await restartWorkers(`while "${name}" waits for an operator`);
        progress.failed(name, message, true);
        await operator.decide();
      }
    }
  }
  const stopWorkers = () => step('stopWorkers', () => act.stopWorkers({ target: input.target }));
  async function restartWorkers(why: string) {
    log.info(`Restarting workers ${why}`);
    progress.phase('compensating');
    await act.restartWorkers({ target: input.target });
    state.workersStoppedByUs = false;
  }

  try {
    // 1 — backup: a restorable file exists and its place is recorded.
    const backup = await step('backup', () => act.backup({ target: input.target }), {
      detail: (b) => b.files.map((f) => `${f.path} (${f.bytes} bytes, sha256 ${f.sha256.slice(0, 12)}…)`).join('; '),
    });
    result.backup = backup;
    progress.state.backup = backup;

    // Approval: a person saw the plan and typed the database's name.
    // Always for production (Rails' protected-environment check) and high risk; otherwise a
    // confirmation typed into the input may stand in for the signal.
    const isProduction = plan.environment === undefined || plan.environment === 'production';
    const mustAsk = input.requireApproval || s.approvalRequired || isProduction || plan.highRisk || input.confirmation === undefined;
    if (mustAsk) await operator.approve(plan, durationMs(input.approvalTimeout ?? s.approvalTimeout));
    else progress.skipped('approval', `confirmed in the input ("${input.confirmation}"), environment "${plan.environment}"`);

    // 2 — stop workers: no live Solid Queue process, no claimed execution.
    if (s.workersConfigured) await stopWorkers();
    else progress.skipped('stopWorkers', 'no workers configured');

    // 3 — reset: record the blobs, then TRUNCATE + seeds.
    const reset = await step('reset', () => act.reset({ target: input.target, runId, planDigest: plan.digest, backupCreatedAt: backup.createdAt }), {
      needsWorkersStopped: true,
      detail: (r) => `${Object.values(r.countsAfter).filter((n) => n === 0).length} tables empty, ${Object.values(r.countsBefore).reduce((a, n) => a + n, 0)} rows before; ${r.manifest.blobs} blob keys recorded`,
    });
    result.countsBefore = reset.countsBefore;
    result.countsAfter = reset.countsAfter;

    // 4 — clean S3: the recorded blobs' objects that nothing references any more.
    if (s.storageConfigured) {
      const purged = await step('purgeStorage', () => act.purgeStorage({ target: input.target, runId, expectedObjects: plan.objectsToDelete.count }), {
        detail: (p) => `${p.deleted} objects, ${p.bytes} bytes deleted`,
      });
      result.objectsDeleted = { count: purged.deleted, bytes: purged.bytes, errors: 0 };
    } else progress.skipped('purgeStorage', 'no storage configured');

    // 5 — start workers: heartbeats come back.
    if (state.workersStoppedByUs) {
      await step('startWorkers', () => act.startWorkers({ target: input.target }), { detail: (w) => `${w.alive} process(es) alive` });
      state.workersStoppedByUs = false;
    } else progress.skipped('startWorkers', s.workersConfigured ? 'workers already running' : 'no workers configured');

    // 6 — verify: the runbook's expected output.
    const verify = await step(
      'verify',
      async () => {
        const v = await act.verify({ target: input.target });
        if (!v.ok) throw ApplicationFailure.nonRetryable(`Verify found unexpected counts:\n${v.report}\n${v.hints.join('\n')}`, 'VerifyMismatch', v);
        return v;
      },
      { detail: (v) => v.report.replace(/\n/g, ', ') },
    );
    result.verify = { ok: verify.ok, lines: verify.lines, report: verify.report, hints: verify.hints };
    result.accounts = verify.accounts;
    progress.phase('completed');
    end('completed');
    await notify('completed', progress.state, result);
    return result;
  } catch (err) {
    const cancelled = isCancellation(err);
    if (state.workersStoppedByUs) {
      // Compensation must run even when the run itself was cancelled.
      await CancellationScope.nonCancellable(() => restartWorkers('before the run ends')).catch(async (e) => {
        const msg = `WORKERS ARE STILL STOPPED: restarting them failed (${messageOf(e)}); start them by hand`;
        log.error(msg);
        await notify('workersStillStopped', progress.state, result);
        throw ApplicationFailure.nonRetryable(msg, 'CompensationFailed', result);
      });
    }
    if (err instanceof AbortRequested) {
      progress.phase('aborted');
      end('aborted', err.message);
      await notify('aborted', progress.state, result);
      throw ApplicationFailure.nonRetryable(`Reset of "${input.target}" ${err.message}`, 'ResetAborted', result);
    }
    progress.phase(cancelled ? 'cancelled' : 'failed');
    end('failed', messageOf(err));
    await notify('failed', progress.state, result);
    throw err;
  }
}

function planSummary(p: Plan): string {
  const truncate = p.tables.filter((t) => t.action === 'truncate');
  const rows = truncate.reduce((a, t) => a + t.rows, 0);
  return `${truncate.length} tables to truncate (${rows} rows), ${p.tables.length - truncate.length} kept, ${p.objectsToDelete.count} objects to delete, ${p.workersAlive} workers alive${p.errors.length ? `; ${p.errors.length} error(s)` : ''}`;
}

/** The message an operator should read: the activity's own error, not the wrapper's. */
export function messageOf(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e && e.cause && typeof e.cause === 'object') e = e.cause as typeof e;
  return e?.message ?? String(err);
}
