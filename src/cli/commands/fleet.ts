/**
 * `reset-runbook fleet <verb> <fleet>`: many targets reset in one durable run (workflow `resetFleet`,
 * id fleet-<name>), one child reset per target. plan and start are in fleet-start.ts; the verbs on a
 * fleet that runs (status, follow, approve, abort) are here.
 */
import { fleetAbortSignal, fleetApproveSignal } from '../../contract';
import { parseDurationMs, parsePositiveInt } from '../args';
import { Command, RUN_ID_OPTION } from '../command';
import { sleep } from '../context';
import { CliError, UsageError } from '../errors';
import { EXIT, type ExitCode } from '../exit-codes';
import { followFleet } from '../fleet-live';
import { renderFleetEnding, renderFleetView } from '../fleet-render';
import {
  fleetExitCode,
  fleetJson,
  FleetSnapshot,
  resolveFleet,
  stillStoppedTargets,
  takeFleetSnapshot,
} from '../fleet-snapshot';
import { FLEET_ARG, fleetApprovalFor, fleetPlanCommand, fleetStartCommand } from './fleet-start';

function endedError(snap: FleetSnapshot, nothingTo: string): CliError {
  const stopped = stillStoppedTargets(snap);
  if (stopped.length)
    return new CliError(
      `${snap.workflowId} has ended (${snap.status}) with the workers of ${stopped.map((t) => t.target).join(', ')} STILL STOPPED; there is nothing to ${nothingTo}`,
      EXIT.workersStopped,
    );
  return new CliError(`${snap.workflowId} has ended (${snap.status}); there is nothing to ${nothingTo}`, EXIT.failed);
}

const fleetStatusCommand: Command = {
  name: 'fleet status',
  summary: 'Where a fleet stands: every target with its status and step, what it waits for, its outcome.',
  positionals: [FLEET_ARG],
  options: { 'run-id': RUN_ID_OPTION },
  details:
    'Exit 0 completed, 1 failed/aborted/refused, 3 waits for a person (the fleet or a child) or a worker, 4 running, 7 a child left its workers STILL STOPPED.',
  async run(ctx, { args, opts }) {
    const { client } = await ctx.connection();
    const snap = await takeFleetSnapshot(
      client,
      await resolveFleet(client, args.fleet!, opts['run-id'] as string | undefined),
    );
    ctx.emit(fleetJson(snap));
    ctx.print(renderFleetView(snap, ctx.now(), ctx.style));
    return fleetExitCode(snap);
  },
};

const fleetFollowCommand: Command = {
  name: 'fleet follow',
  summary: 'Watch a fleet live: one line per target (status, step, detail) until it ends.',
  positionals: [FLEET_ARG],
  options: {
    'run-id': RUN_ID_OPTION,
    'exit-on-wait': {
      type: 'boolean',
      description: 'return with exit 3 as soon as the fleet or a child waits for a person',
    },
  },
  details: `Ctrl-C detaches (exit 3 if the fleet waits for a person, else 4); it never cancels the fleet.
With --json, prints one JSON object per change (NDJSON), the last one with "exitCode".`,
  async run(ctx, { args, opts }) {
    const { client } = await ctx.connection();
    const handle = await resolveFleet(client, args.fleet!, opts['run-id'] as string | undefined);
    const { snap, code, detached } = await followFleet(ctx, client, handle, {
      exitOnWait: opts['exit-on-wait'] === true,
    });
    if (!detached && !ctx.live && snap.result) ctx.print(renderFleetEnding(snap.result, ctx.style, snap.failure));
    return code;
  },
};

const fleetApproveCommand: Command = {
  name: 'fleet approve',
  summary:
    "Approve a fleet that waits for its approval: shows every target's plan, asks for its name and number of databases.",
  positionals: [FLEET_ARG],
  options: {
    confirm: {
      type: 'string',
      value: '<fleet name>',
      description: "the fleet's name (with --databases; otherwise asked for)",
    },
    databases: {
      type: 'string',
      value: '<n>',
      description: 'the number of databases the fleet resets (with --confirm)',
    },
  },
  details:
    'Exit 0 once the fleet has taken the approval, 1 if it does not wait for one, 3 if no valid answer was given (it keeps waiting).',
  async run(ctx, { args, opts }) {
    const confirm = opts.confirm as string | undefined;
    const dbs = opts.databases as string | undefined;
    if ((confirm === undefined) !== (dbs === undefined))
      throw new UsageError('--confirm <fleet name> and --databases <n> go together');
    const given = confirm !== undefined ? { confirm, databases: parsePositiveInt(dbs!, '--databases') } : undefined;
    const { client } = await ctx.connection();
    const handle = await resolveFleet(client, args.fleet!);
    const snap = await takeFleetSnapshot(client, handle, { result: false });
    if (snap.status !== 'RUNNING') throw endedError(await takeFleetSnapshot(client, handle), 'approve');
    if (!snap.progress)
      throw new CliError(
        `cannot approve ${snap.workflowId} now: no answer to its progress query (${snap.progressError})`,
        EXIT.waiting,
        'start a worker, then approve',
      );
    if (snap.progress.phase !== 'awaiting-approval' || !snap.progress.approval)
      throw new CliError(`${snap.workflowId} does not wait for approval (phase: ${snap.progress.phase})`, EXIT.failed);
    const approval = await fleetApprovalFor(ctx, snap, given);
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
    await handle.signal(fleetApproveSignal, approval);
    // The fleet takes the approval on its next workflow task: wait a little to report what it did.
    let after = snap;
    for (let i = 0; i < 20; i++) {
      await sleep(500, ctx.signal);
      after = await takeFleetSnapshot(client, handle, { result: false });
      if (
        after.status !== 'RUNNING' ||
        after.progress?.phase !== 'awaiting-approval' ||
        after.progress.approval?.rejected !== snap.progress.approval.rejected
      )
        break;
    }
    const phase = after.progress?.phase ?? after.status.toLowerCase();
    const taken = phase !== 'awaiting-approval';
    const rejected = !taken ? after.progress?.approval?.rejected : undefined;
    ctx.emit({
      workflowId: snap.workflowId,
      runId: snap.runId,
      signal: 'approve',
      by: approval.by,
      phase,
      taken,
      rejected: rejected ?? null,
      exitCode: taken ? EXIT.ok : EXIT.waiting,
    });
    const name = snap.progress.name;
    ctx.print(
      taken
        ? `approved: fleet "${name}" is ${phase}. follow: reset-runbook fleet follow ${name}`
        : `approval sent; fleet "${name}" still waits${rejected ? `: ${rejected}` : ' (is a worker running?)'}`,
    );
    return taken ? EXIT.ok : EXIT.waiting;
  },
};

const fleetAbortCommand: Command = {
  name: 'fleet abort',
  summary:
    'Abort a fleet: no new target starts, and every running child is aborted (each starts its workers again if it stopped them).',
  positionals: [FLEET_ARG],
  options: {
    reason: { type: 'string', value: '<text>', description: 'why; recorded in the fleet and its children' },
    'no-wait': { type: 'boolean', description: 'send the signal and return at once' },
    wait: {
      type: 'string',
      value: '<duration>',
      description: 'how long to show the fleet ending before returning (default 2m); it goes on either way',
    },
  },
  details: `Exit 0 when the fleet ended aborted (or the signal was sent, with --no-wait); 1 when it had already
ended or ended otherwise; 4 when it was still ending after --wait; 7 when a child left its workers STILL STOPPED.`,
  async run(ctx, { args, opts }) {
    const waitMs = opts.wait !== undefined ? parseDurationMs(opts.wait as string, '--wait') : 120_000;
    const { client } = await ctx.connection();
    const handle = await resolveFleet(client, args.fleet!);
    const before = await takeFleetSnapshot(client, handle, { result: false, queryTimeoutMs: 3000 });
    if (before.status !== 'RUNNING') throw endedError(await takeFleetSnapshot(client, handle), 'abort');
    const by = ctx.operator();
    await handle.signal(fleetAbortSignal, { reason: opts.reason as string | undefined, by });
    const ids = { workflowId: before.workflowId, runId: before.runId, signal: 'abort' };
    const say = (line: string) => (ctx.json ? ctx.note(line) : ctx.print(line));
    say(`abort accepted: the server recorded it for ${before.workflowId} (by ${by})`);
    if (opts['no-wait']) {
      ctx.emit({ ...ids, status: 'RUNNING', outcome: null, exitCode: EXIT.ok });
      return EXIT.ok;
    }
    const deadline = Date.now() + waitMs;
    let snap = before;
    while (snap.status === 'RUNNING' && Date.now() < deadline && !ctx.signal.aborted) {
      await sleep(1000, ctx.signal);
      snap = await takeFleetSnapshot(client, handle, { queryTimeoutMs: 3000 });
    }
    if (snap.status === 'RUNNING') {
      say(
        `${snap.workflowId} is still ending; the abort stands. follow it: reset-runbook fleet follow ${snap.progress?.name ?? snap.workflowId}`,
      );
      ctx.emit({ ...fleetJson(snap, { signal: 'abort' }), exitCode: EXIT.running });
      return EXIT.running;
    }
    const code = fleetExitCode(snap);
    const exit: ExitCode =
      code === EXIT.workersStopped ? code : snap.result?.outcome === 'aborted' ? EXIT.ok : EXIT.failed;
    ctx.emit({ ...fleetJson(snap, { signal: 'abort' }), exitCode: exit });
    if (snap.result) ctx.print(renderFleetEnding(snap.result, ctx.style, snap.failure));
    if (snap.result?.outcome !== 'aborted')
      ctx.note(`${snap.workflowId} ended "${snap.result?.outcome ?? snap.status}" before the abort took effect`);
    return exit;
  },
};

export const fleetCommand: Command = {
  name: 'fleet',
  summary: 'Reset many targets in one run: fleet plan|start|status|follow|approve|abort <fleet>.',
  positionals: [],
  options: {},
  verbs: [
    fleetPlanCommand,
    fleetStartCommand,
    fleetStatusCommand,
    fleetFollowCommand,
    fleetApproveCommand,
    fleetAbortCommand,
  ],
  details: `Verbs (see: reset-runbook fleet <verb> --help):
  plan <fleet> --targets a,b | --group g     plan every target; change nothing
  start <fleet> --targets a,b | --group g    plan, one approval for the fleet, then one reset per target
  status|follow|approve|abort <fleet>        the fleet fleet-<name> (its id is accepted too)
A fleet resets each target in a child run reset-<target>: follow, resume or abort a child as any reset.`,
  async run() {
    // Never reached: pickVerb (args.ts) refuses a missing verb before a command runs.
    throw new UsageError('fleet: missing <verb>', 'verbs: plan, start, status, follow, approve, abort');
  },
};
