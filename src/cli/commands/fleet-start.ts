/**
 * `fleet plan` and `fleet start`: start a fleet (many targets, one child reset each) and, for start,
 * give the fleet's approval after showing every target's plan, then follow it to its end.
 */
import { Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import {
  WORKFLOW_TASK_TIMEOUT,
  FLEET_WORKFLOW_TYPE,
  fleetApproveSignal,
  fleetPlanWorkflowId,
  fleetWorkflowId,
  type FleetApproveArgs,
  type FleetInput,
} from '../../contract';
import type { OptionSpec } from '../args';
import { Command, IDENTITY_OPTION, taskQueueOf } from '../command';
import { Context } from '../context';
import { CliError } from '../errors';
import { EXIT, type ExitCode } from '../exit-codes';
import { fleetInput } from '../fleet-args';
import { followFleet } from '../fleet-live';
import { databasesOf, renderFleetEnding, renderFleetPlan } from '../fleet-render';
import { FleetSnapshot, fleetJson } from '../fleet-snapshot';
import { ask } from '../prompt';
import { IDLE_REPOLL_SECONDS, workersSeen } from '../snapshot-pollers';

export const FLEET_ARG = {
  name: 'fleet',
  required: true,
  description: "the fleet's name (its workflow id is fleet-<name>; the id itself is accepted too)",
};

/** What the targets and the limits of a fleet are made of: shared by plan and start. */
const SELECTION: Record<string, OptionSpec> = {
  targets: { type: 'string', value: '<a,b,c>', description: 'the targets, in the order they are reset (or --group)' },
  group: { type: 'string', value: '<name>', description: "a group of the worker's targets file (or --targets)" },
  'max-concurrent': { type: 'string', value: '<n|p%>', description: 'children running at once (default 1)' },
  'max-failures': {
    type: 'string',
    value: '<n|p%>',
    description: 'failures allowed before no new child starts (default 0)',
  },
  batches: {
    type: 'string',
    value: '<1,25%,100%>',
    description: 'canary batches: the next starts only when the one before completed and verified',
  },
  reason: { type: 'string', value: '<text>', description: "why; recorded in every child's input" },
};

async function warnNoWorker(ctx: Context, client: Client, what: string): Promise<void> {
  const workers = await workersSeen(client, taskQueueOf(ctx.io.env), new Date(), IDLE_REPOLL_SECONDS).catch(
    () => undefined,
  );
  if (workers && workers.workflowPollers === 0)
    ctx.note(
      `no worker polls task queue "${taskQueueOf(ctx.io.env)}" yet: the ${what} starts as soon as one does (Ctrl-C to detach)`,
    );
}

async function startFleet(ctx: Context, client: Client, workflowId: string, input: FleetInput) {
  try {
    return await client.workflow.start(FLEET_WORKFLOW_TYPE, {
      taskQueue: taskQueueOf(ctx.io.env),
      workflowId,
      args: [input],
      workflowTaskTimeout: WORKFLOW_TASK_TIMEOUT,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new CliError(
        `fleet "${input.name}" is already running (workflow ${workflowId})`,
        EXIT.failed,
        `follow it: reset-runbook fleet follow ${input.name}`,
      );
    }
    throw err;
  }
}

export const fleetPlanCommand: Command = {
  name: 'fleet plan',
  summary: 'Plan every target of a fleet: read each database, storage and workers, change nothing, print the plans.',
  positionals: [FLEET_ARG],
  options: SELECTION,
  details:
    'Exit 0 when every plan is clean, 1 when a plan has errors (the fleet would stop there) or the plan run failed.',
  async run(ctx, { args, opts }) {
    const input = fleetInput(args.fleet!, opts, 'plan');
    const { client } = await ctx.connection();
    await warnNoWorker(ctx, client, 'plan');
    const handle = await startFleet(ctx, client, fleetPlanWorkflowId(input.name, ctx.now()), input);
    ctx.note(`planning fleet "${input.name}" (workflow ${handle.workflowId}, run ${handle.firstExecutionRunId}) ...`);
    const { snap, code, detached } = await followFleet(ctx, client, handle, { quiet: true });
    if (detached) return code;
    ctx.emit(fleetJson(snap));
    if (snap.result) ctx.print(renderFleetEnding(snap.result, ctx.style, snap.failure));
    else
      ctx.note(
        ctx.errStyle.red(`plan of fleet "${input.name}" ${snap.status.toLowerCase()}: ${snap.failure ?? 'no result'}`),
      );
    return code;
  },
};

export const fleetStartCommand: Command = {
  name: 'fleet start',
  summary: 'Reset every target of a fleet: plan all, one approval for the fleet, then one child reset per target.',
  positionals: [FLEET_ARG],
  options: {
    ...SELECTION,
    confirm: {
      type: 'string',
      value: '<fleet name>',
      description: "the fleet's name typed in advance (with --databases; otherwise asked for after the plan)",
    },
    databases: {
      type: 'string',
      value: '<n>',
      description: 'the number of databases the fleet resets, typed in advance (with --confirm)',
    },
    'approval-timeout': {
      type: 'string',
      value: '<duration>',
      description: "how long to wait for the fleet's approval (and each child's own), e.g. 30m",
    },
    'on-child-pause': {
      type: 'string',
      value: '<wait|abort>',
      description: 'a child that pauses for an operator: wait for a person (default) or abort it',
    },
    detach: {
      type: 'boolean',
      description: 'start and return at once (exit 0); approve later with `reset-runbook fleet approve`',
    },
    'exit-on-wait': {
      type: 'boolean',
      description: 'return with exit 3 if a child waits for its own approval or an operator',
    },
    identity: IDENTITY_OPTION,
  },
  details: `Without --confirm, the fleet plans every target and waits; the plan is shown (one line per target)
and the fleet's name and the number of databases are asked for (stdin, typed or piped). With --confirm
<name> --databases <n> the fleet checks them against its plan and starts without asking.
Then one line per target until the fleet ends. Ctrl-C detaches: the fleet goes on; follow it again
with \`reset-runbook fleet follow <fleet>\`. Exit codes as for one run: 0 completed, 1 failed/aborted/refused,
3 waits for a person, 4 detached while running, 7 a child left its workers STILL STOPPED.
The fleet records who started it (--identity, $TEMPORAL_IDENTITY, else user@host) and tells every child: where a
target does not allow self-approval, you may not approve that child's own approval; others give it.`,
  async run(ctx, { args, opts }) {
    ctx.useIdentity(opts.identity as string | undefined);
    const input = { ...fleetInput(args.fleet!, opts, 'execute'), startedBy: ctx.identity() };
    const { client } = await ctx.connection();
    await warnNoWorker(ctx, client, 'fleet');
    const handle = await startFleet(ctx, client, fleetWorkflowId(input.name), input);
    ctx.note(`started fleet "${input.name}": workflow ${handle.workflowId}, run ${handle.firstExecutionRunId}`);
    if (opts.detach === true) {
      ctx.emit({
        workflowId: handle.workflowId,
        runId: handle.firstExecutionRunId,
        name: input.name,
        status: 'RUNNING',
      });
      ctx.print(`follow: reset-runbook fleet follow ${input.name}`);
      return EXIT.ok;
    }
    return followAndApprove(ctx, client, handle, {
      confirm: input.confirmation,
      databases: input.databases,
      exitOnWait: opts['exit-on-wait'] === true,
    });
  },
};

/** Follows a fleet to its end, giving its approval when it asks (prompt, or the values typed in advance). */
export async function followAndApprove(
  ctx: Context,
  client: Client,
  handle: Parameters<typeof followFleet>[2],
  o: { confirm?: string; databases?: number; exitOnWait: boolean },
): Promise<ExitCode> {
  const asked = new Set<string>();
  const { snap, code, detached } = await followFleet(ctx, client, handle, {
    onWaiting: async (s, kind) => {
      if (kind !== 'approval') return o.exitOnWait ? 'stop' : 'continue';
      const a = s.progress!.approval!;
      const key = `${a.since}|${a.rejected ?? ''}`;
      if (asked.has(key)) return 'continue';
      asked.add(key);
      // Given in advance but the fleet still asks: they did not match its plan; a person decides.
      if (o.confirm !== undefined) {
        ctx.note(
          ctx.errStyle.red(
            `fleet "${a.fleet}" still waits for its approval (${a.rejected ?? `it counts ${a.databases} databases`}); --confirm/--databases were not taken.`,
          ),
        );
        ctx.note(
          `approve it: reset-runbook fleet approve ${a.fleet}   or abort it: reset-runbook fleet abort ${a.fleet}`,
        );
        return 'stop';
      }
      const approval = await fleetApprovalFor(ctx, s);
      if (!approval) return 'stop';
      await handle.signal(fleetApproveSignal, approval);
      ctx.note(`fleet approval sent by ${approval.by}`);
      return 'continue';
    },
  });
  if (!detached && ctx.json) ctx.emit({ type: 'result', ...fleetJson(snap) });
  if (!detached && !ctx.live && snap.status !== 'RUNNING' && snap.result)
    ctx.print(renderFleetEnding(snap.result, ctx.style, snap.failure));
  else if (!detached && !ctx.live && snap.status !== 'RUNNING')
    ctx.print(ctx.style.red(`${snap.workflowId}: ${snap.status}${snap.failure ? `: ${snap.failure}` : ''}`));
  return code;
}

/**
 * The fleet's approval from a person: every target's plan shown, then the fleet's name and the
 * number of databases typed (or given) and checked against what the fleet waits for. Undefined when
 * no valid answer came: the fleet keeps waiting.
 */
export async function fleetApprovalFor(
  ctx: Context,
  snap: FleetSnapshot,
  given?: { confirm: string; databases: number },
): Promise<FleetApproveArgs | undefined> {
  const p = snap.progress!;
  const a = p.approval!;
  const leave = `not approved; fleet "${a.fleet}" keeps waiting until ${a.deadline}. approve: reset-runbook fleet approve ${a.fleet}`;
  if (given) {
    if (given.confirm !== a.fleet || given.databases !== a.databases) {
      ctx.note(
        ctx.errStyle.red(
          `--confirm "${given.confirm}" --databases ${given.databases} do not match the fleet ("${a.fleet}", ${a.databases} databases)`,
        ),
      );
      ctx.note(leave);
      return undefined;
    }
    return { confirmation: given.confirm, databases: given.databases, by: ctx.operator() };
  }
  ctx.note(renderFleetPlan(p.name, p.targets, p.limits, ctx.errStyle));
  if (databasesOf(p.targets) !== a.databases)
    ctx.note(ctx.errStyle.yellow(`! the fleet counts ${a.databases} databases`));
  if (a.rejected) ctx.note(ctx.errStyle.red(`an earlier approval was refused: ${a.rejected}`));
  ctx.note(ctx.errStyle.bold(`\nThis fleet resets ${a.databases} databases (${p.targets.length} targets).`));
  const typed = async (
    question: string,
    ok: (s: string) => boolean,
    wrong: (s: string) => string,
  ): Promise<string | undefined> => {
    for (let tries = 0; tries < 3; tries++) {
      const s = await ask(ctx.io, question, ctx.signal);
      if (s === undefined) return undefined;
      if (ok(s)) return s;
      ctx.note(ctx.errStyle.red(wrong(s)));
    }
    return undefined;
  };
  const name = await typed(
    `Type the fleet's name (${a.fleet}) to approve, or Ctrl-C to leave it waiting: `,
    (s) => s === a.fleet,
    (s) => `"${s}" is not "${a.fleet}".`,
  );
  const count =
    name === undefined
      ? undefined
      : await typed(
          `Type the number of databases it resets (${a.databases}): `,
          (s) => s === String(a.databases),
          (s) => `"${s}" is not ${a.databases}.`,
        );
  if (name === undefined || count === undefined) {
    ctx.note(leave);
    return undefined;
  }
  return { confirmation: name, databases: Number(count), by: ctx.operator() };
}
