import { retrySignal } from '../../contract';
import { Command, RUN_ARG, RUN_ID_OPTION } from '../command';
import { sleep } from '../context';
import { EXIT } from '../exit-codes';
import { formatDuration, formatTime } from '../format';
import { HistoryState } from '../history-state';
import { noWorkerLines } from '../render-view';
import { resolveRun, takeSnapshot } from '../snapshot';
import { endedRunError } from '../snapshot-exit';
import type { Snapshot } from '../snapshot-model';
import { workersOf } from '../workers-view';

const START_WORKER_HINT =
  'start a worker: sudo systemctl start reset-runbook-worker | docker compose up -d worker | npm run worker';

export const resumeCommand: Command = {
  name: 'resume',
  summary:
    'Resume a paused run: re-run the step it waits on; for a run whose worker died, say whether a worker polls now.',
  positionals: [RUN_ARG],
  options: { 'run-id': RUN_ID_OPTION },
  details: `A step that failed its retries pauses the run; resume sends it the "retry" signal (exit 0).
When no worker answers the run's progress query, resume says so, with the state the run's history
shows (exit 3): the run continues when a worker starts. A run waiting for approval needs \`approve\` (exit 3).`,
  async run(ctx, { args, opts }) {
    const { client } = await ctx.connection();
    const handle = await resolveRun(client, args.run!, opts['run-id'] as string | undefined);
    const snap = await takeSnapshot(client, handle, { workers: true, result: false });
    const base = {
      workflowId: snap.workflowId,
      runId: snap.runId,
      pollers: snap.pollers ?? null,
      workers: workersOf(snap) ?? null,
    };
    if (snap.status !== 'RUNNING') {
      throw endedRunError(
        await takeSnapshot(client, handle, { query: false }),
        'resume',
        `a new reset: reset-runbook start ${snap.target ?? '<target>'}`,
      );
    }
    if (snap.noWorker || !snap.progress) {
      const h = snap.history;
      const head = snap.noWorker
        ? noWorkerLines(snap.noWorker, ctx.now())[0].trim()
        : `the run did not answer its progress query (${snap.progressError ?? 'no answer'}); nothing was sent: look at the worker's log`;
      const lines = [
        head,
        ...(h ? historyLines(snap.workflowId, h) : []),
        ...pendingLines(snap, ctx.now()),
        START_WORKER_HINT,
      ];
      ctx.emit({
        ...base,
        action: 'none',
        reason: snap.noWorker ? 'no-worker' : 'no-answer',
        phase: h?.phase ?? null,
        stateFrom: h ? 'history' : null,
        currentStep: h?.currentStep ?? null,
        noWorker: snap.noWorker,
        message: lines[0],
        exitCode: EXIT.waiting,
      });
      ctx.print(lines.join('\n'));
      return EXIT.waiting;
    }
    const p = snap.progress;
    if (p?.phase === 'waiting-for-operator' && p.waiting) {
      const step = p.waiting.step;
      const before = p.steps.find((s) => s.name === step)?.attempts ?? 0;
      await handle.signal(retrySignal);
      let after: Snapshot = snap;
      for (let i = 0; i < 20; i++) {
        await sleep(500, ctx.signal);
        after = await takeSnapshot(client, handle, { result: false });
        const s = after.progress?.steps.find((x) => x.name === step);
        if (
          after.status !== 'RUNNING' ||
          after.progress?.phase !== 'waiting-for-operator' ||
          (s && s.attempts > before)
        )
          break;
      }
      const phase = after.progress?.phase ?? after.status.toLowerCase();
      ctx.emit({ ...base, action: 'retry', step, phase, exitCode: EXIT.ok });
      ctx.print(
        `retrying step "${step}" of ${snap.workflowId} (it failed: ${p.waiting.error}); now ${phase}.\nfollow: reset-runbook follow ${snap.workflowId}`,
      );
      return EXIT.ok;
    }
    if (p?.phase === 'awaiting-approval') {
      ctx.emit({ ...base, action: 'none', reason: 'awaiting-approval', exitCode: EXIT.waiting });
      ctx.print(`${snap.workflowId} waits for approval, not for a retry: reset-runbook approve ${snap.workflowId}`);
      return EXIT.waiting;
    }
    // Reached only when a worker answered the progress query: it is running the run now.
    const w = snap.pollers;
    const who = w && w.identities.length ? ` (polling: ${w.identities.join(', ')})` : '';
    const msg = `${snap.workflowId} is not paused (${p?.phase ?? snap.status.toLowerCase()}${p?.currentStep ? `, step ${p.currentStep}` : ''}): a worker answered its progress query and is running it${who}; nothing to resume.`;
    ctx.emit({ ...base, action: 'none', reason: 'running', phase: p?.phase ?? null, message: msg, exitCode: EXIT.ok });
    ctx.print([msg, ...pendingLines(snap, ctx.now())].join('\n'));
    return EXIT.ok;
  },
};

/** The state a run's history shows, for a run no worker runs now. */
export function historyLines(workflowId: string, h: HistoryState): string[] {
  const out = [`the run's history shows: ${h.phase}${h.currentStep ? `, step ${h.currentStep}` : ''} (${h.why})`];
  if (h.lastCompleted) out.push(`  last step completed: ${h.lastCompleted.step} at ${formatTime(h.lastCompleted.at)}`);
  if (h.phase === 'awaiting-approval')
    out.push(
      `  it waits for approval${h.approval?.deadline ? ` until ${formatTime(h.approval.deadline)}` : ''}: reset-runbook approve ${workflowId} (once a worker runs it)`,
    );
  if (h.phase === 'waiting-for-operator' && h.waiting)
    out.push(`  it is paused at step "${h.waiting.step}": ${h.waiting.error}; resume again once a worker runs it`);
  for (const s of h.signals.filter((x) => !x.seenByRun))
    out.push(
      `  signal "${s.name}" received ${formatTime(s.at)}, not yet taken by the run${s.problem ? ` (it will be refused: ${s.problem})` : ''}`,
    );
  if (h.workersStoppedSince)
    out.push(`  Solid Queue workers are stopped by this run since ${formatTime(h.workersStoppedSince)}`);
  return out;
}

function pendingLines(snap: Snapshot, now: Date): string[] {
  return snap.activities.map((a) => {
    const hb = a.lastHeartbeat
      ? `, last heartbeat ${formatTime(a.lastHeartbeat)} (${formatDuration(now.getTime() - Date.parse(a.lastHeartbeat))} ago)`
      : '';
    const fail = a.lastFailure ? `, last failure: ${a.lastFailure}` : '';
    return `  pending activity ${a.type}: ${a.state.toLowerCase()}, attempt ${a.attempt}${hb}${fail}; it is retried once its timeout passes`;
  });
}
