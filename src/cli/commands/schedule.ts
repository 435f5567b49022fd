/**
 * `reset-runbook schedule <verb>`: scheduled resets through Temporal's Schedule API (never a cron of
 * our own). Each schedule starts an unattended `resetFleet` (mode execute) of one target or group;
 * before one is made or changed, the same fleet is planned unattended and any target that would need
 * a person refuses it. This file: the command, `create` and `sync`; schedule-manage.ts: the rest.
 */
import { Client, ScheduleAlreadyRunning, ScheduleNotFoundError } from '@temporalio/client';
import { scheduleId, Share } from '../../contract';
import { TARGETS_ENV } from '../../config/load';
import { parseDurationMs } from '../args';
import { Command, taskQueueOf } from '../command';
import { Context } from '../context';
import { CliError, UsageError } from '../errors';
import { EXIT } from '../exit-codes';
import { Preflight, unattendedPlan } from '../schedule/preflight';
import { renderScheduleDescription, renderSyncReport } from '../schedule/render';
import {
  nameProblem,
  ourMemo,
  parseShare,
  scheduleOptions,
  ScheduleWhat,
  ScheduleWhen,
  whenProblems,
} from '../schedule/spec';
import {
  diffSchedules,
  ExistingSchedule,
  readTargetsFileForSchedules,
  refuse,
  SyncEntry,
  syncFailed,
} from '../schedule/sync';
import { describeOurs, listOurs } from '../schedule/view';
import { deleteVerb, describeVerb, listVerb, pauseVerb, triggerVerb, unpauseVerb } from './schedule-manage';

const PLAN_TIMEOUT = {
  type: 'string' as const,
  value: '<duration>',
  description:
    'how long to wait for the unattended plan that comes first (default 2m); no worker in that time: nothing is made',
};

function planTimeoutMs(opts: Record<string, string | boolean | undefined>): number {
  return opts['plan-timeout'] !== undefined
    ? parseDurationMs(opts['plan-timeout'] as string, '--plan-timeout')
    : 120_000;
}

function shareOption(text: string | boolean | undefined, flag: string): Share | undefined {
  if (text === undefined) return undefined;
  const s = parseShare(String(text));
  if (s === undefined)
    throw new UsageError(`${flag}: expected a whole number or a percentage like "25%", got ${JSON.stringify(text)}`);
  return s;
}

const createVerb: Command = {
  name: 'schedule create',
  summary: 'Reset <name> (a target, or a group with --group) on a calendar, unattended.',
  positionals: [
    { name: 'name', required: true, description: "a target (or with --group, a group) of the worker's targets file" },
  ],
  options: {
    cron: {
      type: 'string',
      value: '"<m h dom mon dow>"',
      description: 'when, as five-field cron, e.g. "0 5 * * *" (05:00 every day)',
    },
    every: { type: 'string', value: '<duration>', description: 'or: at this interval, e.g. 30s, 6h' },
    timezone: {
      type: 'string',
      value: '<IANA zone>',
      description: "the cron's time zone, e.g. Europe/Berlin (default UTC)",
    },
    jitter: {
      type: 'string',
      value: '<duration>',
      description: 'start each run up to this much later, at random, e.g. 5m',
    },
    'pause-on-failure': {
      type: 'boolean',
      description: 'pause the schedule after a run that does not complete, until a person unpauses it',
    },
    group: { type: 'boolean', description: '<name> is a group of the targets file (default: a target)' },
    'max-concurrent': { type: 'string', value: '<n|n%>', description: 'group: children at once (default 1)' },
    'max-failures': {
      type: 'string',
      value: '<n|n%>',
      description: 'group: failures before no new child starts (default 0)',
    },
    batches: { type: 'string', value: '<1,25%,100%>', description: 'group: canary batch sizes' },
    'plan-timeout': PLAN_TIMEOUT,
  },
  details: `Whether <name> is a target or a group is the worker's to say (it alone has the targets file): the
CLI sends it as a target unless --group is given, and the plan that comes first refuses a name the
worker does not know. That plan runs the fleet unattended in mode plan: a target that would need a
person (production, approval.required, a schema rebuild) or has plan errors refuses the schedule, and
nothing is made. Runs overlap never (SKIP); a run the server could not start within 10 minutes of its
time is skipped. Exit 0 made, 1 refused or failed, 2 bad usage.`,
  async run(ctx, { args, opts }) {
    const name = args.name!;
    const problem = nameProblem(name);
    if (problem) throw new UsageError(problem);
    const when: ScheduleWhen = { pauseOnFailure: opts['pause-on-failure'] === true };
    for (const k of ['cron', 'every', 'timezone', 'jitter'] as const)
      if (opts[k] !== undefined) when[k] = opts[k] as string;
    const problems = whenProblems(when).map((p) => `--${p}`);
    if (problems.length)
      throw new UsageError(
        problems.join('; '),
        'e.g. reset-runbook schedule create shop --cron "0 5 * * *" --timezone Europe/Berlin --jitter 5m',
      );
    const what: ScheduleWhat = { name, resets: opts.group === true ? { group: name } : { target: name } };
    const limits = {
      maxConcurrent: shareOption(opts['max-concurrent'], '--max-concurrent'),
      maxFailures: shareOption(opts['max-failures'], '--max-failures'),
    };
    const batches =
      opts.batches === undefined
        ? undefined
        : String(opts.batches)
            .split(',')
            .map((b) => shareOption(b.trim(), '--batches')!);
    if (opts.group !== true && (limits.maxConcurrent !== undefined || limits.maxFailures !== undefined || batches)) {
      throw new UsageError('--max-concurrent, --max-failures and --batches are for a group: add --group');
    }
    if (limits.maxConcurrent !== undefined) what.maxConcurrent = limits.maxConcurrent;
    if (limits.maxFailures !== undefined) what.maxFailures = limits.maxFailures;
    if (batches) what.batches = batches;
    const timeoutMs = planTimeoutMs(opts);

    const { client } = await ctx.connection();
    const existing = await client.schedule
      .getHandle(scheduleId(name))
      .describe()
      .catch((err) => (err instanceof ScheduleNotFoundError ? undefined : Promise.reject(err)));
    if (existing) {
      const owner = ourMemo(existing.memo)?.source;
      throw new CliError(
        `schedule ${scheduleId(name)} already exists${owner === 'targets-file' ? ' (made by schedule sync from the targets file)' : owner ? '' : ", and it is not reset-runbook's"}`,
        EXIT.failed,
        owner === 'targets-file'
          ? 'change it in the targets file and run: reset-runbook schedule sync'
          : `see it: reset-runbook schedule describe ${name}; or delete it first`,
      );
    }
    const taskQueue = taskQueueOf(ctx.io.env);
    ctx.note(
      `planning ${'group' in what.resets ? 'group' : 'target'} "${name}" unattended on task queue "${taskQueue}" before making its schedule ...`,
    );
    const plan = await unattendedPlan(client, what, { taskQueue, timeoutMs, now: ctx.now(), signal: ctx.signal });
    if (plan.refusals.length) {
      ctx.emit({
        name,
        scheduleId: scheduleId(name),
        created: false,
        refused: plan.refusals,
        plan: planIds(plan),
        exitCode: EXIT.failed,
      });
      ctx.note(
        ctx.errStyle.red(
          `refused: schedule "${name}" was not made; a schedule must never wait for a person or reset production unattended:`,
        ),
      );
      for (const r of plan.refusals) ctx.note(`  - ${r}`);
      ctx.note(`  (the plan: workflow ${plan.workflowId})`);
      return EXIT.failed;
    }
    try {
      await client.schedule.create(scheduleOptions(what, when, { taskQueue, source: 'cli' }));
    } catch (err) {
      if (err instanceof ScheduleAlreadyRunning)
        throw new CliError(`schedule ${scheduleId(name)} was made by somebody else a moment ago`, EXIT.failed);
      throw err;
    }
    const { view } = await describeOurs(client, name);
    ctx.emit({
      name,
      scheduleId: view.scheduleId,
      created: true,
      schedule: view,
      plan: planIds(plan),
      exitCode: EXIT.ok,
    });
    ctx.print(renderScheduleDescription(view, ctx.style));
    ctx.note(
      `made schedule ${view.scheduleId}; every run resets ${'group' in what.resets ? `group "${name}"` : `"${name}"`} unattended`,
    );
    return EXIT.ok;
  },
};

function planIds(p: Preflight) {
  return { workflowId: p.workflowId, runId: p.runId };
}

const syncVerb: Command = {
  name: 'schedule sync',
  summary: "Make Temporal's schedules match the schedule blocks of the targets file.",
  positionals: [],
  options: {
    file: { type: 'string', value: '<targets file>', description: `the targets file (default: $${TARGETS_ENV})` },
    'dry-run': {
      type: 'boolean',
      description: 'report what would change (the unattended plans still run; they change nothing), change nothing',
    },
    'plan-timeout': PLAN_TIMEOUT,
  },
  details: `Creates the schedules the file has and Temporal has not, updates those whose block (or group
limits) changed, deletes those sync made that the file no longer has, and never touches a schedule made
by \`schedule create\` (a file that wants the same name gets a conflict). Every create and update is
planned unattended first, as \`schedule create\` does: a target that would need a person is refused.
The file is read without the worker's environment (the secrets it names need not be set here).
Exit 0 when everything matches, 1 when anything was refused, in conflict or failed.`,
  async run(ctx, { opts }) {
    const file = (opts.file as string | undefined) ?? ctx.io.env[TARGETS_ENV];
    if (!file) throw new UsageError(`schedule sync: give --file <targets file> or set ${TARGETS_ENV}`);
    const dryRun = opts['dry-run'] === true;
    const timeoutMs = planTimeoutMs(opts);
    const taskQueue = taskQueueOf(ctx.io.env);
    const desired = readTargetsFileForSchedules(file, taskQueue);
    const { client } = await ctx.connection();
    const existing = await existingSchedules(
      client,
      desired.map((d) => d.name),
      taskQueue,
    );
    let entries = diffSchedules(desired, existing, scheduleId);
    entries = await Promise.all(
      entries.map((e) =>
        e.kind === 'create' || e.kind === 'update' ? checked(ctx, client, e, taskQueue, timeoutMs) : e,
      ),
    );
    if (!dryRun) for (const e of entries) await apply(client, e, taskQueue);
    const failed = syncFailed(entries) || entries.some((e) => e.failed);
    const code = failed ? EXIT.failed : EXIT.ok;
    ctx.emit({
      file,
      dryRun,
      entries: entries.map((e) => ({
        kind: e.kind,
        name: e.name,
        scheduleId: e.scheduleId,
        resets: e.resets ?? null,
        when: e.desired?.when ?? null,
        reasons: e.reasons,
        failed: e.failed ?? false,
      })),
      exitCode: code,
    });
    ctx.print(renderSyncReport(entries, { dryRun, file }, ctx.style));
    return code;
  },
};

/**
 * Ours from the (eventually consistent) list, and every name the file wants described directly, so one made a moment
 * ago is not missed.
 */
async function existingSchedules(client: Client, names: string[], taskQueue: string): Promise<ExistingSchedule[]> {
  const out = new Map<string, ExistingSchedule>();
  for (const s of await listOurs(client)) {
    // Another targets file's schedules (another task queue's workers) are not this sync's to delete.
    if (s.memo.source === 'targets-file' && s.memo.taskQueue !== taskQueue) continue;
    const name = s.scheduleId.slice(scheduleId('').length);
    if (s.scheduleId === scheduleId(name))
      out.set(name, { name, scheduleId: s.scheduleId, source: s.memo.source, digest: s.memo.specDigest });
  }
  await Promise.all(
    names.map(async (name) => {
      const d = await client.schedule
        .getHandle(scheduleId(name))
        .describe()
        .catch((err) => (err instanceof ScheduleNotFoundError ? undefined : Promise.reject(err)));
      if (!d) return void out.delete(name);
      const memo = ourMemo(d.memo);
      const actionMemo = d.action.memo as { specDigest?: string } | undefined;
      out.set(name, {
        name,
        scheduleId: d.scheduleId,
        source: memo?.source,
        digest: actionMemo?.specDigest ?? memo?.specDigest,
      });
    }),
  );
  return [...out.values()];
}

/** A create or update that the unattended plan refuses becomes "refused". */
async function checked(
  ctx: Context,
  client: Client,
  e: SyncEntry,
  taskQueue: string,
  timeoutMs: number,
): Promise<SyncEntry> {
  const plan = await unattendedPlan(client, e.desired!.what, {
    taskQueue,
    timeoutMs,
    now: ctx.now(),
    signal: ctx.signal,
  });
  if (!plan.refusals.length) return e;
  const reasons = [...plan.refusals, `(the plan: workflow ${plan.workflowId})`];
  if (e.kind === 'update')
    reasons.push('the schedule in Temporal is left as it was (its runs refuse the same targets)');
  return refuse(e, reasons);
}

async function apply(client: Client, e: SyncEntry, taskQueue: string): Promise<void> {
  try {
    if (e.kind === 'create')
      await client.schedule.create(
        scheduleOptions(e.desired!.what, e.desired!.when, { taskQueue, source: 'targets-file' }),
      );
    else if (e.kind === 'update') {
      const o = scheduleOptions(e.desired!.what, e.desired!.when, { taskQueue, source: 'targets-file' });
      // The schedule's memo cannot be updated: the new digest travels in the action's memo (see spec.ts).
      await client.schedule.getHandle(e.scheduleId).update((prev) => ({
        spec: o.spec,
        action: o.action,
        policies: o.policies,
        state: { paused: prev.state.paused, note: prev.state.note },
      }));
    } else if (e.kind === 'delete') await client.schedule.getHandle(e.scheduleId).delete();
  } catch (err) {
    e.failed = true;
    e.reasons.push(`failed: ${(err as Error).message}`);
  }
}

export const scheduleCommand: Command = {
  name: 'schedule',
  summary:
    'Scheduled, unattended resets (Temporal Schedules): create, list, describe, pause, unpause, trigger, delete, sync.',
  positionals: [],
  options: {},
  verbs: [createVerb, listVerb, describeVerb, pauseVerb, unpauseVerb, triggerVerb, deleteVerb, syncVerb],
  details: 'See: reset-runbook schedule <verb> --help',
  run() {
    throw new UsageError('schedule: missing <verb>');
  },
};
