import { retrySignal } from '../../workflows/definitions';
import { Command, RUN_ARG, RUN_ID_OPTION } from '../command';
import { sleep } from '../context';
import { CliError } from '../errors';
import { EXIT } from '../exit-codes';
import { formatDuration, formatTime } from '../format';
import { resolveRun, Snapshot, takeSnapshot } from '../snapshot';

const START_WORKER_HINT = 'start a worker: sudo systemctl start reset-runbook-worker | docker compose up -d worker | npm run worker';

export const resumeCommand: Command = {
  name: 'resume',
  summary: 'Resume a paused run: re-run the step it waits on; for a run whose worker died, say whether a worker polls now.',
  positionals: [RUN_ARG],
  options: { 'run-id': RUN_ID_OPTION },
  details: `A step that failed its retries pauses the run; resume sends it the "retry" signal (exit 0).
A run whose worker died goes on by itself as soon as any worker polls the task queue: resume says
whether one does (exit 0) or not (exit 3). A run waiting for approval needs \`approve\` (exit 3).`,
  async run(ctx, { args, opts }) {
    const { client } = await ctx.connection();
    const handle = await resolveRun(client, args.run!, opts['run-id'] as string | undefined);
    const snap = await takeSnapshot(client, handle, { workers: true, result: false });
    const base = { workflowId: snap.workflowId, runId: snap.runId, workers: snap.workers ?? null };
    if (snap.status !== 'RUNNING') {
      throw new CliError(`${snap.workflowId} has ended (${snap.status}); there is nothing to resume`, EXIT.failed, `a new reset: reset-runbook start ${snap.target ?? '<target>'}`);
    }
    const w = snap.workers;
    if (w && w.workflowPollers === 0) {
      const lines = [
        `no worker polls task queue "${w.taskQueue}" now (last poll: ${w.lastPollAt ? `${formatTime(w.lastPollAt)}, ${formatDuration(ctx.now().getTime() - Date.parse(w.lastPollAt))} ago` : 'never'}): ${snap.workflowId} goes on by itself as soon as one does.`,
        ...pendingLines(snap, ctx.now()),
        START_WORKER_HINT,
      ];
      ctx.emit({ ...base, action: 'none', reason: 'no-worker', message: lines[0], exitCode: EXIT.waiting });
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
        if (after.status !== 'RUNNING' || after.progress?.phase !== 'waiting-for-operator' || (s && s.attempts > before)) break;
      }
      const phase = after.progress?.phase ?? after.status.toLowerCase();
      ctx.emit({ ...base, action: 'retry', step, phase, exitCode: EXIT.ok });
      ctx.print(`retrying step "${step}" of ${snap.workflowId} (it failed: ${p.waiting.error}); now ${phase}.\nfollow: reset-runbook follow ${snap.workflowId}`);
      return EXIT.ok;
    }
    if (p?.phase === 'awaiting-approval') {
      ctx.emit({ ...base, action: 'none', reason: 'awaiting-approval', exitCode: EXIT.waiting });
      ctx.print(`${snap.workflowId} waits for approval, not for a retry: reset-runbook approve ${snap.workflowId}`);
      return EXIT.waiting;
    }
    const who = w ? `${w.workflowPollers} workflow and ${w.activityPollers} activity poller(s) on "${w.taskQueue}"${w.identities.length ? ` (${w.identities.join(', ')})` : ''}` : 'workers unknown';
    const msg = `${snap.workflowId} is not paused (${p?.phase ?? snap.status.toLowerCase()}${p?.currentStep ? `, step ${p.currentStep}` : ''}); ${who}: it goes on by itself.`;
    ctx.emit({ ...base, action: 'none', reason: 'running', phase: p?.phase ?? null, message: msg, exitCode: EXIT.ok });
    ctx.print([msg, ...pendingLines(snap, ctx.now())].join('\n'));
    return EXIT.ok;
  },
};

function pendingLines(snap: Snapshot, now: Date): string[] {
  return snap.activities.map((a) => {
    const hb = a.lastHeartbeat ? `, last heartbeat ${formatTime(a.lastHeartbeat)} (${formatDuration(now.getTime() - Date.parse(a.lastHeartbeat))} ago)` : '';
    const fail = a.lastFailure ? `, last failure: ${a.lastFailure}` : '';
    return `  pending activity ${a.type}: ${a.state.toLowerCase()}, attempt ${a.attempt}${hb}${fail}; it is retried once its timeout passes`;
  });
}
