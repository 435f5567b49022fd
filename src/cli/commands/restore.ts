import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { approveSignal, RESTORE_WORKFLOW_TYPE, restoreWorkflowId, type RestoreInput } from '../../workflows/definitions';
import { parseDurationMs } from '../args';
import { Command, checkTarget, taskQueueOf } from '../command';
import { CliError, UsageError } from '../errors';
import { EXIT } from '../exit-codes';
import { endingJson, followRun, WaitingKind } from '../live';
import { renderEnding } from '../render';
import { Snapshot } from '../snapshot';
import { approvalFor } from './start';

export const restoreCommand: Command = {
  name: 'restore',
  summary: 'Undo a reset of <target>: restore its backup, bring back quarantined files, restart workers, verify counts.',
  positionals: [{ name: 'target', required: true, description: "a target in the worker's targets file" }],
  options: {
    run: { type: 'string', value: '<reset run id>', description: "the reset run whose backup to restore (default: the latest run of reset-<target>)" },
    confirm: { type: 'string', value: '<database>', description: "the database's name, typed in advance (otherwise asked for once the plan is made)" },
    'approval-timeout': { type: 'string', value: '<duration>', description: 'how long the run waits for approval, e.g. 30m, 24h' },
    detach: { type: 'boolean', description: 'start and return at once (exit 0); approve later with `reset-runbook approve restore-<target>`' },
    'exit-on-wait': { type: 'boolean', description: 'return with exit 3 if a step fails and the run waits for resume/abort' },
  },
  details: `The restore plans first (which backup, its checksum and age, the rows it holds, what the database holds now),
then waits for an approval with the database's name, like \`start\`. The backup's SHA-256 must match the reset's record.`,
  async run(ctx, { args, opts }) {
    const target = checkTarget(args.target!);
    const confirm = opts.confirm as string | undefined;
    if (opts['approval-timeout'] !== undefined) parseDurationMs(opts['approval-timeout'] as string, '--approval-timeout');
    if (confirm !== undefined && confirm.trim() === '') throw new UsageError('--confirm: give the database name');
    if (opts.run !== undefined && (opts.run as string).trim() === '') throw new UsageError('--run: give a reset run id');
    const { client } = await ctx.connection();
    const input: RestoreInput = { target };
    if (opts.run) input.resetRunId = opts.run as string;
    if (opts['approval-timeout']) input.approvalTimeout = opts['approval-timeout'] as string;
    let handle;
    try {
      handle = await client.workflow.start(RESTORE_WORKFLOW_TYPE, { taskQueue: taskQueueOf(ctx.io.env), workflowId: restoreWorkflowId(target), args: [input] });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        throw new CliError(`a restore of "${target}" is already running (workflow ${restoreWorkflowId(target)})`, EXIT.failed, `follow it: reset-runbook follow ${restoreWorkflowId(target)}`);
      }
      throw err;
    }
    ctx.note(`started restore of "${target}": workflow ${handle.workflowId}, run ${handle.firstExecutionRunId}`);
    if (opts.detach === true) {
      ctx.emit({ workflowId: handle.workflowId, runId: handle.firstExecutionRunId, target, status: 'RUNNING' });
      ctx.print(`follow: reset-runbook follow ${handle.workflowId}`);
      return EXIT.ok;
    }
    const approved = new Set<string>();
    const onWaiting = async (snap: Snapshot, kind: WaitingKind): Promise<'continue' | 'stop'> => {
      if (kind !== 'approval') return opts['exit-on-wait'] ? 'stop' : 'continue';
      const approval = snap.progress!.approval!;
      const key = `${approval.planDigest}@${approval.since}`;
      if (approved.has(key)) return 'continue';
      const a = await approvalFor(ctx, snap, confirm, undefined);
      if (!a) return 'stop';
      await handle.signal(approveSignal, a);
      approved.add(key);
      ctx.note(`approved by ${a.by}`);
      return 'continue';
    };
    const { snap, code, detached } = await followRun(ctx, client, handle, { onWaiting });
    if (!detached && ctx.json) ctx.emit(endingJson(snap, code));
    if (!detached && !ctx.live && snap.status !== 'RUNNING') ctx.print(renderEnding(snap, ctx.style));
    return code;
  },
};
