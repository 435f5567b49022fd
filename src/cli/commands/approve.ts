import { approveSignal, approverProblem, describeApprovals, isPlainApproval, policyShown } from '../../contract';
import { Command, IDENTITY_OPTION, RUN_ARG, RUN_ID_OPTION } from '../command';
import { Context, sleep } from '../context';
import { CliError } from '../errors';
import { EXIT, type ExitCode } from '../exit-codes';
import { noWorkerLines } from '../render-view';
import { resolveRun, takeSnapshot } from '../snapshot';
import type { Snapshot } from '../snapshot-model';
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
    identity: IDENTITY_OPTION,
  },
  details: `Exit 0 once the run has taken the approval (or counted it, where it needs more than one), 1 if it does not
wait for one or refused this approval (its starter where self-approval is off, a second approval by one
identity, an identity not among the target's approvers: the reason is printed), 3 if no valid name was
given (it keeps waiting). The approval carries your identity (--identity, $TEMPORAL_IDENTITY, else user@host),
as asserted by this client: docs/operators/approvals.md.`,
  async run(ctx, { args, opts }) {
    ctx.useIdentity(opts.identity as string | undefined);
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
    const wait = snap.progress.approval;
    const seen = (wait.approvals?.length ?? 0) + (wait.refused?.length ?? 0);
    let after = snap;
    for (let i = 0; i < 20; i++) {
      await sleep(500, ctx.signal);
      after = await takeSnapshot(client, handle, { result: false });
      if (after.status !== 'RUNNING' || after.progress?.phase !== 'awaiting-approval') break;
      const a = after.progress.approval;
      if ((a?.approvals?.length ?? 0) + (a?.refused?.length ?? 0) > seen) break;
    }
    const phase = after.progress?.phase ?? after.status.toLowerCase();
    const taken = after.progress?.phase !== 'awaiting-approval';
    const now = after.progress?.approval;
    // Plain one-approval runs answer as before four-eyes; a run that counts approvals says how this one fared.
    if (!taken && now?.approvals && !isPlainApproval(policyShown(now)))
      return counted(ctx, snap, approval.identity!, wait, now);
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

type Wait = NonNullable<NonNullable<Snapshot['progress']>['approval']>;

/**
 * A run that counts approvals still waits: say whether this one was counted or refused (the run's own
 * reason), who approved so far and how many are still needed.
 */
function counted(ctx: Context, snap: Snapshot, identity: string, before: Wait, now: Wait): ExitCode {
  const refused = (now.refused ?? []).slice(before.refused?.length ?? 0).find((r) => r.identity === identity);
  const mine = (now.approvals ?? []).slice(before.approvals?.length ?? 0).find((a) => a.identity === identity);
  const state = describeApprovals(policyShown(now), now.approvals ?? []);
  // Not seen yet (no worker took it): what the run will say, checked as it checks.
  const why = refused?.why ?? (mine ? undefined : approverProblem(policyShown(now), now.approvals ?? [], identity));
  const code = refused ? EXIT.failed : mine ? EXIT.ok : EXIT.waiting;
  ctx.emit({
    workflowId: snap.workflowId,
    runId: snap.runId,
    signal: 'approve',
    identity,
    counted: Boolean(mine),
    refused: refused?.why ?? null,
    approvals: now.approvals,
    required: now.required ?? 1,
    phase: 'awaiting-approval',
    taken: false,
    exitCode: code,
  });
  if (refused) ctx.note(ctx.errStyle.red(`approval REFUSED by the run: ${refused.why}`));
  else if (!mine)
    ctx.note(
      `approval sent; ${snap.workflowId} has not counted it yet (is a worker running?)${why ? `; it will refuse it: ${why}` : ''}`,
    );
  ctx.print(
    `${mine ? `approval counted (${identity}): ` : ''}${snap.workflowId} still waits: ${state}. status: reset-runbook status ${snap.workflowId}`,
  );
  return code;
}
