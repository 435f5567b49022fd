import { rejectSignal } from '../../contract';
import { Command, IDENTITY_OPTION, RUN_ARG, RUN_ID_OPTION } from '../command';
import { sleep } from '../context';
import { CliError } from '../errors';
import { EXIT } from '../exit-codes';
import { endingJson } from '../live';
import { renderEnding } from '../render-ending';
import { resolveRun, takeSnapshot } from '../snapshot';
import { endedRunError } from '../snapshot-exit';

export const rejectCommand: Command = {
  name: 'reject',
  summary: 'Reject a run that waits for approval: it ends "rejected", nothing touched (the backup it took stays).',
  positionals: [RUN_ARG],
  options: {
    'run-id': RUN_ID_OPTION,
    reason: { type: 'string', value: '<text>', description: 'why; recorded in the run and its result' },
    identity: IDENTITY_OPTION,
  },
  details: `Only while the run waits for approval: once approved, use \`reset-runbook abort\`. The rejection carries your
identity (--identity, $TEMPORAL_IDENTITY, else user@host), as asserted by this client.
Exit 0 when the run ended rejected, 1 when it does not wait for approval or ended otherwise, 3 when no
worker has taken the rejection yet (it takes effect when one does).`,
  async run(ctx, { args, opts }) {
    const reason = opts.reason as string | undefined;
    if (reason !== undefined && reason.trim() === '') throw new CliError('--reason: say why', EXIT.usage);
    ctx.useIdentity(opts.identity as string | undefined);
    const { client } = await ctx.connection();
    const handle = await resolveRun(client, args.run!, opts['run-id'] as string | undefined);
    const snap = await takeSnapshot(client, handle);
    if (snap.status !== 'RUNNING') throw endedRunError(snap, 'reject');
    if (snap.progress && snap.progress.phase !== 'awaiting-approval')
      throw new CliError(
        `${snap.workflowId} does not wait for approval (phase: ${snap.progress.phase}); nothing to reject`,
        EXIT.failed,
        `to stop it: reset-runbook abort ${snap.workflowId} --reason <text>`,
      );
    const identity = ctx.identity();
    await handle.signal(rejectSignal, { identity, ...(reason ? { reason } : {}) });
    ctx.note(`reject sent to ${snap.workflowId} by ${identity}`);
    // The run ends on its next workflow task: nothing to compensate, so a few seconds are plenty.
    let after = snap;
    for (let i = 0; i < 30; i++) {
      await sleep(500, ctx.signal);
      after = await takeSnapshot(client, handle);
      if (after.status !== 'RUNNING') break;
    }
    if (after.status === 'RUNNING') {
      ctx.emit({
        workflowId: snap.workflowId,
        runId: snap.runId,
        signal: 'reject',
        status: 'RUNNING',
        exitCode: EXIT.waiting,
      });
      ctx.print(`reject sent; ${snap.workflowId} still runs (is a worker running?): it ends when one takes it`);
      return EXIT.waiting;
    }
    const code = after.result?.endReason === 'rejected' ? EXIT.ok : EXIT.failed;
    ctx.emit(endingJson(after, code, { signal: 'reject' }));
    ctx.print(renderEnding(after, ctx.style));
    return code;
  },
};
