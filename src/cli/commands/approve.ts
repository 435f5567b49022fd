import { approveSignal } from '../../contract';
import { Command, RUN_ARG, RUN_ID_OPTION } from '../command';
import { sleep } from '../context';
import { CliError } from '../errors';
import { EXIT } from '../exit-codes';
import { noWorkerLines } from '../render-view';
import { resolveRun, takeSnapshot } from '../snapshot';
import { endedRunError } from '../snapshot-exit';
import { approvalFor } from './start';

export const approveCommand: Command = {
  name: 'approve',
  summary: 'Approve a run that waits for approval: shows its plan, asks for the database name (or --confirm).',
  positionals: [RUN_ARG],
  options: {
    'run-id': RUN_ID_OPTION,
    confirm: { type: 'string', value: '<database>', description: "the database's name (otherwise asked for)" },
    'confirm-rebuild': {
      type: 'string',
      value: "'REBUILD <db>'",
      description: 'second confirmation a high-risk (rebuild) strategy needs',
    },
  },
  details:
    'Exit 0 once the run has taken the approval, 1 if it does not wait for one, 3 if no valid name was given (it keeps waiting).',
  async run(ctx, { args, opts }) {
    const { client } = await ctx.connection();
    const handle = await resolveRun(client, args.run!, opts['run-id'] as string | undefined);
    const snap = await takeSnapshot(client, handle);
    if (snap.status !== 'RUNNING') throw endedRunError(snap, 'approve');
    if (!snap.progress) {
      const why = snap.noWorker
        ? noWorkerLines(snap.noWorker, ctx.now())[0].trim()
        : `no answer to the progress query: ${snap.progressError}`;
      const shows = snap.history ? `; its history shows: ${snap.history.phase}` : '';
      throw new CliError(
        `cannot approve ${snap.workflowId} now (${why})${shows}`,
        EXIT.waiting,
        'start a worker, then approve; see: reset-runbook status ' + snap.workflowId,
      );
    }
    if (snap.progress.phase !== 'awaiting-approval' || !snap.progress.approval) {
      throw new CliError(`${snap.workflowId} does not wait for approval (phase: ${snap.progress.phase})`, EXIT.failed);
    }
    const approval = await approvalFor(
      ctx,
      snap,
      opts.confirm as string | undefined,
      opts['confirm-rebuild'] as string | undefined,
    );
    if (!approval) {
      ctx.emit({
        workflowId: snap.workflowId,
        runId: snap.runId,
        signal: null,
        phase: snap.progress.phase,
        exitCode: EXIT.waiting,
      });
      return EXIT.waiting;
    }
    await handle.signal(approveSignal, approval);
    // The run takes the approval on its next workflow task: wait a little to report what it did.
    let after = snap;
    for (let i = 0; i < 20; i++) {
      await sleep(500, ctx.signal);
      after = await takeSnapshot(client, handle, { result: false });
      if (after.status !== 'RUNNING' || after.progress?.phase !== 'awaiting-approval') break;
    }
    const phase = after.progress?.phase ?? after.status.toLowerCase();
    const taken = after.progress?.phase !== 'awaiting-approval';
    ctx.emit({
      workflowId: snap.workflowId,
      runId: snap.runId,
      signal: 'approve',
      by: approval.by,
      phase,
      taken,
      exitCode: taken ? EXIT.ok : EXIT.waiting,
    });
    ctx.print(
      taken
        ? `approved: ${snap.workflowId} is ${phase}. follow: reset-runbook follow ${snap.workflowId}`
        : `approval sent; ${snap.workflowId} still waits (is a worker running?)`,
    );
    return taken ? EXIT.ok : EXIT.waiting;
  },
};
