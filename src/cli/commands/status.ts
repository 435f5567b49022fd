import { Command, RUN_ARG, RUN_ID_OPTION } from '../command';
import { snapshotJson } from '../live';
import { renderView } from '../render-view';
import { resolveRun, takeSnapshot } from '../snapshot';
import { exitCodeFor } from '../snapshot-exit';

export const statusCommand: Command = {
  name: 'status',
  summary: 'Where a run stands: its steps, progress, what it waits for, its outcome.',
  positionals: [RUN_ARG],
  options: { 'run-id': RUN_ID_OPTION },
  details: `Exit 0 completed, 1 failed/aborted, 3 waits for an operator (or a worker), 4 running, 7 ended with the
Solid Queue workers STILL STOPPED (start them by hand: the command is printed).
When no worker answers the run's progress query, the state shown is derived from the run's history
(marked "from history"), with when a worker last polled the task queue.`,
  async run(ctx, { args, opts }) {
    const { client } = await ctx.connection();
    const handle = await resolveRun(client, args.run!, opts['run-id'] as string | undefined);
    const snap = await takeSnapshot(client, handle, { workers: true });
    ctx.emit(snapshotJson(snap));
    ctx.print(renderView(snap, { now: ctx.now(), style: ctx.style }));
    return exitCodeFor(snap);
  },
};
