import { abortSignal } from '../../contract';
import { parseDurationMs } from '../args';
import { Command, RUN_ARG, RUN_ID_OPTION } from '../command';
import { Context, sleep } from '../context';
import { EXIT, ExitCode } from '../exit-codes';
import { formatTime } from '../format';
import { endingJson } from '../live';
import { renderEnding } from '../render-ending';
import { noWorkerLines } from '../render-view';
import { resolveRun, takeSnapshot } from '../snapshot';
import { endedRunError, exitCodeFor } from '../snapshot-exit';
import { phaseOf, Snapshot } from '../snapshot-model';
import { leftStopped, restartLine, workersOf } from '../workers-view';

/** How long a progress query may take before abort says no worker answers (the bounded wait). */
const QUERY_TIMEOUT_MS = 3000;

export const abortCommand: Command = {
  name: 'abort',
  summary: 'Abort a run: it stops where it is and, if it stopped the Solid Queue workers, starts them again.',
  positionals: [RUN_ARG],
  options: {
    'run-id': RUN_ID_OPTION,
    reason: { type: 'string', value: '<text>', description: 'why; recorded in the run' },
    'no-wait': { type: 'boolean', description: 'send the signal and return at once' },
    wait: {
      type: 'string',
      value: '<duration>',
      description: 'how long to show the run ending before returning (default 2m); the run goes on either way',
    },
  },
  details: `Prints "abort accepted" as soon as the server has recorded the signal, then the run's state as it
changes (e.g. "restarting workers, attempt 2/5 (budget until 18:40:12Z)") until it ends or --wait passes.
Exit 0 when the run ended aborted (or the signal was sent, with --no-wait); 1 when it had already ended
or ended otherwise; 3 when no worker runs it (the abort takes effect when one does); 4 when it was still
ending after --wait; 7 when it ended with the workers STILL STOPPED (start them by hand).`,
  async run(ctx, { args, opts }) {
    const waitMs = opts.wait !== undefined ? parseDurationMs(opts.wait as string, '--wait') : 120_000;
    const { client } = await ctx.connection();
    const handle = await resolveRun(client, args.run!, opts['run-id'] as string | undefined);
    const before = await takeSnapshot(client, handle, { query: false, result: false });
    if (before.status !== 'RUNNING') throw endedRunError(await takeSnapshot(client, handle, { query: false }), 'abort');
    const by = ctx.operator();
    await handle.signal(abortSignal, { reason: opts.reason as string | undefined, by });
    const ids = { workflowId: before.workflowId, runId: before.runId, signal: 'abort' };
    if (opts['no-wait']) {
      ctx.note(`abort sent to ${before.workflowId} by ${by}`);
      ctx.emit({ ...ids, status: 'RUNNING', outcome: null, exitCode: EXIT.ok });
      return EXIT.ok;
    }
    // Human lines on stdout; with --json they go to stderr, and stdout gets the one JSON object.
    const say = (line: string) => (ctx.json ? ctx.note(line) : ctx.print(line));
    say(`abort accepted: the server recorded it for ${before.workflowId} (by ${by})`);

    const deadline = Date.now() + waitMs;
    let lastLine = '';
    let snap: Snapshot;
    for (;;) {
      snap = await takeSnapshot(client, handle, { queryTimeoutMs: QUERY_TIMEOUT_MS, workers: true });
      if (snap.status !== 'RUNNING') break;
      if (snap.noWorker) return noWorker(ctx, snap, ids, say);
      const line = stateLine(snap);
      if (line !== lastLine) say(`[${formatTime(ctx.now()).slice(11)}] ${line}`);
      lastLine = line;
      if (Date.now() >= deadline || ctx.signal.aborted) {
        const msg = `${snap.workflowId} is still ending (${line}); the abort stands. follow it: reset-runbook follow ${snap.workflowId}`;
        say(msg);
        ctx.emit({
          ...ids,
          status: snap.status,
          phase: phaseOf(snap) ?? null,
          workers: workersOf(snap) ?? null,
          outcome: null,
          message: msg,
          exitCode: EXIT.running,
        });
        return EXIT.running;
      }
      await sleep(Math.min(1000, Math.max(0, deadline - Date.now())), ctx.signal);
    }

    const outcome = snap.result?.outcome ?? null;
    const stopped = leftStopped(snap);
    const code = exitCodeFor(snap);
    const exit: ExitCode = stopped
      ? EXIT.workersStopped
      : outcome === 'aborted'
        ? EXIT.ok
        : code === EXIT.ok
          ? EXIT.failed
          : code;
    ctx.emit(endingJson(snap, exit, { signal: 'abort' }));
    ctx.print(renderEnding(snap, ctx.style));
    if (outcome !== 'aborted' && !stopped)
      ctx.note(`${snap.workflowId} ended "${outcome ?? snap.status}" before the abort took effect`);
    return exit;
  },
};

/** One line of where an aborting run stands: the restart attempts while compensating, else phase and step. */
export function stateLine(snap: Snapshot): string {
  const restart = restartLine(workersOf(snap));
  if (restart) return restart;
  const phase = phaseOf(snap) ?? snap.status.toLowerCase();
  const step = snap.progress?.currentStep ?? snap.history?.currentStep;
  const pending = snap.activities[0];
  return `${phase}${step ? `, step ${step}` : ''}${pending ? ` (activity ${pending.type} ${pending.state.toLowerCase()}, attempt ${pending.attempt}: ${CANCELLING})` : ''}`;
}

/** What an abort does to the step in flight (src/workflows/operator.ts: every step runs in an abortable scope). */
export const CANCELLING =
  'the abort cancels it: its processes are killed, its statement cancelled and rolled back; then the run ends, starting the workers again if it stopped them';

function noWorker(ctx: Context, snap: Snapshot, ids: Record<string, string>, say: (l: string) => void): ExitCode {
  const nw = snap.noWorker!;
  const lines = noWorkerLines(nw, ctx.now()).map((l) => l.trim());
  const msg = `${lines[0].replace(/[:;] the run continues when a worker (starts|runs it)$/, '')}: the abort takes effect when one does`;
  say(msg);
  if (snap.history)
    say(
      `the run's history shows: ${snap.history.phase}${snap.history.currentStep ? `, step ${snap.history.currentStep}` : ''} (${snap.history.why})`,
    );
  say(lines[1]);
  ctx.emit({
    ...ids,
    status: snap.status,
    phase: phaseOf(snap) ?? null,
    reason: 'no-worker',
    noWorker: nw,
    outcome: null,
    message: msg,
    exitCode: EXIT.waiting,
  });
  return EXIT.waiting;
}
