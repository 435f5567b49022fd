import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import {
  approveSignal,
  ApproveArgs,
  describeApprovals,
  policyShown,
  resetWorkflowId,
  ResetInput,
  WORKFLOW_TASK_TIMEOUT,
  WORKFLOW_TYPE,
} from '../../contract';
import { checkRunDuration } from '../args';
import { Command, checkTarget, IDENTITY_OPTION, taskQueueOf } from '../command';
import { Context } from '../context';
import { CliError, UsageError } from '../errors';
import { EXIT, type ExitCode } from '../exit-codes';
import { followRun, WaitingKind } from '../live';
import { ask } from '../prompt';
import { renderEnding, unknownTargetRefusal } from '../render-ending';
import { renderPlan, undoLine } from '../render-plan';
import { renderRestorePlan } from '../render-restore';
import type { Snapshot } from '../snapshot-model';
import { IDLE_REPOLL_SECONDS, workersSeen } from '../snapshot-pollers';
import { endingJson } from '../live';

export const startCommand: Command = {
  name: 'start',
  summary:
    'Start a reset of <target>: plan, backup, approval, stop workers, reset, purge storage, restart workers, verify.',
  positionals: [{ name: 'target', required: true, description: "a target in the worker's targets file" }],
  options: {
    confirm: {
      type: 'string',
      value: '<database>',
      description: "the database's name, typed in advance (otherwise asked for once the plan is made)",
    },
    'confirm-rebuild': {
      type: 'string',
      value: "'REBUILD <db>'",
      description: 'second confirmation a high-risk (rebuild) strategy needs',
    },
    reason: {
      type: 'string',
      value: '<text>',
      description: 'why this reset is run; recorded in the run and its result',
    },
    'approval-timeout': {
      type: 'string',
      value: '<duration>',
      description: 'how long the run waits for approval, e.g. 30m, 24h',
    },
    detach: {
      type: 'boolean',
      description: 'start and return at once (exit 0); approve later with `reset-runbook approve`',
    },
    'exact-counts': {
      type: 'boolean',
      description: 'count every table exactly in the plan (large tables are otherwise shown with their estimate, "≈")',
    },
    'exit-on-wait': {
      type: 'boolean',
      description: 'return with exit 3 if a step fails and the run waits for resume/abort',
    },
    identity: IDENTITY_OPTION,
  },
  details: `The run waits for an approval after its plan and backup. Without --confirm, the plan is shown and
the database's name is asked for (stdin, typed or piped); with --confirm it is checked against the plan.
Ctrl-C detaches: the reset goes on; follow it again with \`reset-runbook follow <target>\`.
Exit 5 when the target is not in the worker's targets file (refused before anything is touched).
The run records who started it (--identity, $TEMPORAL_IDENTITY, else user@host); where the target does not
allow self-approval, start does not ask you for the approval: others give it with \`reset-runbook approve\`.`,
  async run(ctx, { args, opts }) {
    const target = checkTarget(args.target!);
    const confirm = opts.confirm as string | undefined;
    const detach = opts.detach === true;
    if (opts['approval-timeout'] !== undefined)
      checkRunDuration(opts['approval-timeout'] as string, '--approval-timeout');
    if (confirm !== undefined && confirm.trim() === '') throw new UsageError('--confirm: give the database name');
    ctx.useIdentity(opts.identity as string | undefined);
    const { client } = await ctx.connection();

    const input: ResetInput = {
      target,
      mode: 'execute',
      reason: opts.reason as string | undefined,
      approvalTimeout: opts['approval-timeout'] as string | undefined,
      startedBy: ctx.identity(),
    };
    if (opts['exact-counts'] === true) input.exactCounts = true;
    if (confirm) input.confirmation = confirm;
    // Without the name in advance, a person approves after seeing the plan: always wait for that.
    else input.requireApproval = true;

    const workers = await workersSeen(client, taskQueueOf(ctx.io.env), new Date(), IDLE_REPOLL_SECONDS).catch(
      () => undefined,
    );
    if (workers && workers.workflowPollers === 0) {
      ctx.note(`no worker polls task queue "${taskQueueOf(ctx.io.env)}" yet: the reset starts as soon as one does`);
    }
    return startAndFollow(ctx, client, {
      what: 'reset',
      target,
      workflowType: WORKFLOW_TYPE,
      workflowId: resetWorkflowId(target),
      input,
      detach,
      confirm,
      confirmRebuild: opts['confirm-rebuild'] as string | undefined,
      exitOnWait: opts['exit-on-wait'] === true,
      noWorkerSaid: workers?.workflowPollers === 0,
    });
  },
};

/**
 * Starts a destructive run (a reset or a restore) under its fixed workflow id, then, unless detached,
 * follows it and gives the approval it waits for (the plan shown, the database's name typed or given
 * with --confirm). Returns the exit code of how the run ended or was left.
 */
export async function startAndFollow(
  ctx: Context,
  client: Client,
  o: {
    what: 'reset' | 'restore';
    target: string;
    workflowType: string;
    workflowId: string;
    input: object;
    detach: boolean;
    confirm?: string;
    confirmRebuild?: string;
    exitOnWait: boolean;
    noWorkerSaid?: boolean;
  },
): Promise<ExitCode> {
  let handle;
  try {
    handle = await client.workflow.start(o.workflowType, {
      taskQueue: taskQueueOf(ctx.io.env),
      workflowId: o.workflowId,
      args: [o.input],
      workflowTaskTimeout: WORKFLOW_TASK_TIMEOUT,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new CliError(
        `a ${o.what} of "${o.target}" is already running (workflow ${o.workflowId})`,
        EXIT.failed,
        `follow it: reset-runbook follow ${o.workflowId}`,
      );
    }
    throw err;
  }
  ctx.note(`started ${o.what} of "${o.target}": workflow ${handle.workflowId}, run ${handle.firstExecutionRunId}`);
  if (o.detach) {
    ctx.emit({ workflowId: handle.workflowId, runId: handle.firstExecutionRunId, target: o.target, status: 'RUNNING' });
    ctx.print(`follow: reset-runbook follow ${handle.workflowId}`);
    return EXIT.ok;
  }

  const approved = new Set<string>();
  const onWaiting = async (snap: Snapshot, kind: WaitingKind): Promise<'continue' | 'stop'> => {
    if (kind !== 'approval') return o.exitOnWait ? 'stop' : 'continue';
    const approval = snap.progress!.approval!;
    const key = `${approval.planDigest}@${approval.since}`;
    if (approved.has(key)) return 'continue';
    if (approval.allowSelfApproval === false && approval.startedBy === ctx.identity()) {
      // The run would refuse it: say once who must approve, and keep following while they do.
      approved.add(key);
      ctx.note(
        `${approval.startedBy} started this run and may not approve it; ${describeApprovals(policyShown(approval), approval.approvals ?? [])}: reset-runbook approve ${snap.workflowId}`,
      );
      return 'continue';
    }
    const args = await approvalFor(ctx, snap, o.confirm, o.confirmRebuild);
    if (!args) return 'stop';
    await handle.signal(approveSignal, args);
    approved.add(key);
    ctx.note(`approved by ${args.by}`);
    return 'continue';
  };
  const {
    snap,
    code: followed,
    detached,
  } = await followRun(ctx, client, handle, { onWaiting, noWorkerSaid: o.noWorkerSaid });
  // A target the worker's targets file does not have is refused before anything is touched: exit 5
  // ("no such target"), as `plan` says it, not 1 as for a run that failed on its way.
  const code = !detached && unknownTargetRefusal(snap) ? EXIT.notFound : followed;
  if (!detached && ctx.json) ctx.emit(endingJson(snap, code));
  if (!detached && !ctx.live && snap.status !== 'RUNNING') ctx.print(renderEnding(snap, ctx.style));
  else if (!detached && ctx.live && code === EXIT.notFound) ctx.note(ctx.errStyle.red(unknownTargetRefusal(snap)!));
  return code;
}

/**
 * The approval a person gives: the plan shown, the database's name typed (or given with --confirm)
 * and checked against the plan. Undefined when no valid name came (the run keeps waiting).
 */
export async function approvalFor(
  ctx: Context,
  snap: Snapshot,
  confirm: string | undefined,
  confirmRebuild: string | undefined,
): Promise<ApproveArgs | undefined> {
  const approval = snap.progress?.approval;
  if (!approval) return undefined;
  const database = approval.database;
  let name = confirm;
  // The last thing read before saying yes: whether the reset can be undone, and what cannot come back.
  const undo = snap.progress?.restorePlan ? undefined : snap.progress?.plan?.undo;
  if (undo && confirm !== undefined) ctx.note(undoLine(undo, ctx.errStyle));
  if (name === undefined) {
    if (snap.progress?.restorePlan) ctx.note(renderRestorePlan(snap.progress.restorePlan, ctx.errStyle));
    else if (snap.progress?.plan) ctx.note(renderPlan(snap.progress.plan, ctx.errStyle));
    for (let tries = 0; tries < 3 && name === undefined; tries++) {
      const typed = await ask(
        ctx.io,
        `\n${undo ? `${undoLine(undo, ctx.errStyle)}\n` : ''}Type the database name (${database}) to approve the ${snap.progress?.kind ?? 'reset'} of "${snap.progress!.target}", or Ctrl-C to leave it waiting: `,
        ctx.signal,
      );
      if (typed === undefined) break;
      if (typed === database) name = typed;
      else ctx.note(ctx.errStyle.red(`"${typed}" is not "${database}".`));
    }
  } else if (name === database) {
    // The plan is not shown on this path; what it warns about still is.
    const plan = snap.progress?.restorePlan ?? snap.progress?.plan;
    for (const w of plan?.warnings ?? []) ctx.note(`${ctx.errStyle.yellow('!')} ${w}`);
  } else if (name !== database) {
    ctx.note(
      ctx.errStyle.red(
        `--confirm "${name}" does not match the database in the plan ("${database}"); the run keeps waiting.`,
      ),
    );
    ctx.note(
      `approve it: reset-runbook approve ${snap.workflowId}   or abort it: reset-runbook abort ${snap.workflowId}`,
    );
    return undefined;
  }
  if (name === undefined) {
    ctx.note(
      `not approved; the run keeps waiting until ${approval.deadline}. approve: reset-runbook approve ${snap.workflowId}`,
    );
    return undefined;
  }
  const args: ApproveArgs = {
    confirmation: name,
    planDigest: approval.planDigest,
    by: ctx.operator(),
    identity: ctx.identity(),
  };
  if (approval.highRisk) {
    const expected = `REBUILD ${database}`;
    let second = confirmRebuild;
    if (second === undefined)
      second = await ask(
        ctx.io,
        `High risk: the schema is dropped and rebuilt. Type "${expected}" to go on: `,
        ctx.signal,
      );
    if (second !== expected) {
      ctx.note(ctx.errStyle.red(`the high-risk confirmation must be exactly "${expected}"; the run keeps waiting.`));
      return undefined;
    }
    args.highRiskConfirmation = second;
  }
  return args;
}
