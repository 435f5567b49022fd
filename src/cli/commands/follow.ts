import { Command, RUN_ARG, RUN_ID_OPTION } from '../command';
import { followRun } from '../live';
import { renderEnding } from '../render-ending';
import { resolveRun } from '../snapshot';

export const followCommand: Command = {
  name: 'follow',
  summary:
    'Watch a run live: steps with status and duration, backup and purge progress with rate and ETA, pauses and why.',
  positionals: [RUN_ARG],
  options: {
    'run-id': RUN_ID_OPTION,
    'exit-on-wait': { type: 'boolean', description: 'return with exit 3 as soon as the run waits for an operator' },
  },
  details: `Ctrl-C detaches (exit 3 if the run waits for an operator, else 4); it never cancels the reset.
While the run compensates it shows each attempt to start the workers again; a run that ended with the
workers STILL STOPPED exits 7.
With --json, prints one JSON object per change (NDJSON), the last one with "exitCode".`,
  async run(ctx, { args, opts }) {
    const { client } = await ctx.connection();
    const handle = await resolveRun(client, args.run!, opts['run-id'] as string | undefined);
    const { snap, code, detached } = await followRun(ctx, client, handle, {
      exitOnWait: opts['exit-on-wait'] === true,
    });
    if (!detached && !ctx.live && snap.status !== 'RUNNING') ctx.print(renderEnding(snap, ctx.style));
    return code;
  },
};
