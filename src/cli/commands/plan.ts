import { planWorkflowId, ResetInput, WORKFLOW_TYPE } from '../../contract';
import { Command, checkTarget, taskQueueOf } from '../command';
import { EXIT } from '../exit-codes';
import { followRun } from '../live';
import { unknownTargetRefusal } from '../render-ending';
import { renderPlan } from '../render-plan';
import { IDLE_REPOLL_SECONDS, workersSeen } from '../snapshot-pollers';

export const planCommand: Command = {
  name: 'plan',
  summary: 'Plan a reset of <target>: read the database, storage and workers, change nothing, print the plan.',
  positionals: [{ name: 'target', required: true, description: "a target in the worker's targets file" }],
  options: {
    reason: { type: 'string', value: '<text>', description: 'why; recorded in the run' },
    'exact-counts': {
      type: 'boolean',
      description: 'count every table exactly (large tables are otherwise shown with their estimate, "≈")',
    },
  },
  details:
    "Exit 0 when the plan is clean, 1 when it has errors (a reset would stop at them) or the plan run failed, 5 when the target is not in the worker's targets file.",
  async run(ctx, { args, opts }) {
    const target = checkTarget(args.target!);
    const { client } = await ctx.connection();
    // The poller list is a first hint only (a stopped worker's polls stay listed for a minute);
    // followRun says it as soon as the run's workflow task waits unstarted.
    const workers = await workersSeen(client, taskQueueOf(ctx.io.env), new Date(), IDLE_REPOLL_SECONDS).catch(
      () => undefined,
    );
    if (workers && workers.workflowPollers === 0) {
      ctx.note(
        `no worker polls task queue "${taskQueueOf(ctx.io.env)}" yet: the plan runs as soon as one does (Ctrl-C to detach)`,
      );
    }
    const input: ResetInput = { target, mode: 'plan', reason: opts.reason as string | undefined };
    if (opts['exact-counts'] === true) input.exactCounts = true;
    const handle = await client.workflow.start(WORKFLOW_TYPE, {
      taskQueue: taskQueueOf(ctx.io.env),
      workflowId: planWorkflowId(target, ctx.now()),
      args: [input],
    });
    ctx.note(`planning "${target}" (workflow ${handle.workflowId}, run ${handle.firstExecutionRunId}) ...`);
    const {
      snap,
      code: followed,
      detached,
    } = await followRun(ctx, client, handle, { quiet: true, noWorkerSaid: workers?.workflowPollers === 0 });
    if (detached) return followed;
    let code = followed;
    const result = snap.result;
    const plan = result?.plan;
    const refusal = unknownTargetRefusal(snap);
    if (refusal) code = EXIT.notFound;
    ctx.emit({
      workflowId: snap.workflowId,
      runId: snap.runId,
      target,
      status: snap.status,
      outcome: result?.outcome ?? null,
      message: result?.message ?? snap.failure ?? null,
      plan: plan ?? null,
      exitCode: code,
    });
    if (plan) ctx.print(renderPlan(plan, ctx.style));
    if (refusal) {
      ctx.note(ctx.errStyle.red(refusal));
      return code;
    }
    if (!plan) {
      ctx.note(
        ctx.errStyle.red(
          `plan of "${target}" ${snap.status.toLowerCase()}: ${result?.message ?? snap.failure ?? 'no plan in the result'}`,
        ),
      );
      return EXIT.failed;
    }
    if (result?.outcome !== 'planned') ctx.note(`plan run ended "${result?.outcome}": ${result?.message ?? ''}`);
    return code;
  },
};
