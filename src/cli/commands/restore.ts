import { RESTORE_WORKFLOW_TYPE, restoreWorkflowId, type RestoreInput } from '../../contract';
import { checkRunDuration } from '../args';
import { Command, IDENTITY_OPTION, checkTarget } from '../command';
import { UsageError } from '../errors';
import { startAndFollow } from './start';

export const restoreCommand: Command = {
  name: 'restore',
  summary:
    'Undo a reset of <target>: restore its backup, bring back quarantined files, restart workers, verify counts.',
  positionals: [{ name: 'target', required: true, description: "a target in the worker's targets file" }],
  options: {
    run: {
      type: 'string',
      value: '<reset run id>',
      description:
        'the reset run whose backup to restore (default: the latest run of reset-<target> whose TRUNCATE committed)',
    },
    'discard-newer-rows': {
      type: 'boolean',
      description:
        'accept that rows written after the reset (listed in the plan) are discarded; without it such a restore is refused',
    },
    confirm: {
      type: 'string',
      value: '<database>',
      description: "the database's name, typed in advance (otherwise asked for once the plan is made)",
    },
    'approval-timeout': {
      type: 'string',
      value: '<duration>',
      description: 'how long the run waits for approval, e.g. 30m, 24h',
    },
    detach: {
      type: 'boolean',
      description: 'start and return at once (exit 0); approve later with `reset-runbook approve restore-<target>`',
    },
    'exit-on-wait': {
      type: 'boolean',
      description: 'return with exit 3 if a step fails and the run waits for resume/abort',
    },
    identity: IDENTITY_OPTION,
  },
  details: `The restore plans first (which backup, its checksum and age, the rows it holds, what the database holds now),
then waits for an approval with the database's name, like \`start\`. The backup's SHA-256 must match the reset's record.
The target's four-eyes rules (approval.required, approvers, allowSelfApproval) apply as to a reset: the run records
who started it (--identity, $TEMPORAL_IDENTITY, else user@host), and where you may not approve your own restore,
others give the approvals with \`reset-runbook approve restore-<target>\`.`,
  async run(ctx, { args, opts }) {
    const target = checkTarget(args.target!);
    const confirm = opts.confirm as string | undefined;
    if (opts['approval-timeout'] !== undefined)
      checkRunDuration(opts['approval-timeout'] as string, '--approval-timeout');
    if (confirm !== undefined && confirm.trim() === '') throw new UsageError('--confirm: give the database name');
    if (opts.run !== undefined && (opts.run as string).trim() === '')
      throw new UsageError('--run: give a reset run id');
    ctx.useIdentity(opts.identity as string | undefined);
    const { client } = await ctx.connection();
    const input: RestoreInput = { target, startedBy: ctx.identity() };
    if (opts.run) input.resetRunId = opts.run as string;
    if (opts['approval-timeout']) input.approvalTimeout = opts['approval-timeout'] as string;
    if (opts['discard-newer-rows'] === true) input.discardNewerRows = true;
    return startAndFollow(ctx, client, {
      what: 'restore',
      target,
      workflowType: RESTORE_WORKFLOW_TYPE,
      workflowId: restoreWorkflowId(target),
      input,
      detach: opts.detach === true,
      confirm,
      exitOnWait: opts['exit-on-wait'] === true,
    });
  },
};
