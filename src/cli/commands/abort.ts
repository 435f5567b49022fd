import { abortSignal } from '../../workflows/definitions';
import { Command, RUN_ARG, RUN_ID_OPTION } from '../command';
import { CliError } from '../errors';
import { EXIT } from '../exit-codes';
import { followRun } from '../live';
import { renderResult } from '../render';
import { resolveRun, takeSnapshot } from '../snapshot';

export const abortCommand: Command = {
  name: 'abort',
  summary: 'Abort a run: it stops where it is and, if it stopped the Solid Queue workers, starts them again.',
  positionals: [RUN_ARG],
  options: {
    'run-id': RUN_ID_OPTION,
    reason: { type: 'string', value: '<text>', description: 'why; recorded in the run' },
    'no-wait': { type: 'boolean', description: 'send the signal and return at once' },
  },
  details: 'Exit 0 when the run ended aborted (or the signal was sent, with --no-wait); 1 when it had already ended or ended otherwise.',
  async run(ctx, { args, opts }) {
    const { client } = await ctx.connection();
    const handle = await resolveRun(client, args.run!, opts['run-id'] as string | undefined);
    const before = await takeSnapshot(client, handle, { query: false, result: false });
    if (before.status !== 'RUNNING') throw new CliError(`${before.workflowId} has ended (${before.status}); there is nothing to abort`, EXIT.failed);
    const by = ctx.operator();
    await handle.signal(abortSignal, { reason: opts.reason as string | undefined, by });
    ctx.note(`abort sent to ${before.workflowId} by ${by}`);
    if (opts['no-wait']) {
      ctx.emit({ workflowId: before.workflowId, runId: before.runId, signal: 'abort', status: 'RUNNING', outcome: null, exitCode: EXIT.ok });
      return EXIT.ok;
    }
    const { snap, code, detached } = await followRun(ctx, client, handle, { quiet: !ctx.live || ctx.json });
    if (detached) return code;
    const outcome = snap.result?.outcome ?? null;
    const exit = outcome === 'aborted' ? EXIT.ok : code === EXIT.ok ? EXIT.failed : code;
    ctx.emit({ type: 'result', workflowId: snap.workflowId, runId: snap.runId, signal: 'abort', status: snap.status, outcome, result: snap.result ?? null, failure: snap.failure ?? null, exitCode: exit });
    if (!ctx.live) {
      if (snap.result) ctx.print(renderResult(snap.result, ctx.style));
      else ctx.print(`${snap.workflowId}: ${snap.status}${snap.failure ? `: ${snap.failure}` : ''}`);
    }
    if (outcome !== 'aborted') ctx.note(`${snap.workflowId} ended "${outcome ?? snap.status}" before the abort took effect`);
    return exit;
  },
};
