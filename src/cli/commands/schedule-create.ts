/**
 * `reset-runbook schedule create`: one schedule, made from the command line. The fleet it would start is
 * planned unattended first; a target that would need a person refuses it and nothing is made.
 */
import { ScheduleAlreadyRunning, ScheduleNotFoundError } from '@temporalio/client';
import { scheduleId } from '../../contract';
import { Command, taskQueueOf } from '../command';
import { CliError, UsageError } from '../errors';
import { EXIT } from '../exit-codes';
import { PLAN_TIMEOUT, planTimeoutMs, shareOption } from '../schedule/options';
import { Preflight, unattendedPlan } from '../schedule/preflight';
import { renderScheduleDescription } from '../schedule/render';
import { nameProblem, ourMemo, scheduleOptions, ScheduleWhat, ScheduleWhen, whenProblems } from '../schedule/spec';
import { describeOurs } from '../schedule/view';

export const createVerb: Command = {
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
