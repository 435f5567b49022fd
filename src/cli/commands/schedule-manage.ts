/**
 * The verbs of `reset-runbook schedule` that read or steer a schedule that exists: list, describe,
 * pause, unpause, trigger, delete. Each acts only on schedules of ours (memo managedBy).
 */
import { ScheduleHandle, ScheduleNotFoundError } from '@temporalio/client';
import { Command } from '../command';
import { Context } from '../context';
import { UsageError } from '../errors';
import { EXIT } from '../exit-codes';
import { renderScheduleDescription, renderScheduleList } from '../schedule/render';
import { nameProblem } from '../schedule/spec';
import { describeOurs, listOurs, readRun, ScheduleView, viewOf } from '../schedule/view';

const NAME_ARG = {
  name: 'name',
  required: true,
  description: 'the target or group the schedule resets (its id is reset-schedule-<name>)',
};

function checkName(name: string): string {
  const p = nameProblem(name);
  if (p) throw new UsageError(p);
  return name;
}

export const listVerb: Command = {
  name: 'schedule list',
  summary: "reset-runbook's schedules: what each resets, when, paused or not, and its next run.",
  positionals: [],
  options: {},
  async run(ctx) {
    const { client } = await ctx.connection();
    const views: ScheduleView[] = [];
    for (const s of await listOurs(client)) {
      // Describe gives what list does not: the spec as given (in the action's memo) and the next runs.
      const d = await client.schedule
        .getHandle(s.scheduleId)
        .describe()
        .catch((err) => (err instanceof ScheduleNotFoundError ? undefined : Promise.reject(err)));
      const v = d && viewOf(d);
      if (v) views.push(v);
    }
    views.sort((a, b) => a.name.localeCompare(b.name));
    ctx.emit({ schedules: views });
    ctx.print(renderScheduleList(views, ctx.style));
    return EXIT.ok;
  },
};

export const describeVerb: Command = {
  name: 'schedule describe',
  summary: 'One schedule: its spec, next runs, recent runs and how each ended, paused or not and why.',
  positionals: [NAME_ARG],
  options: {},
  async run(ctx, { args }) {
    const { client } = await ctx.connection();
    const { view } = await describeOurs(client, checkName(args.name!));
    view.recent = await Promise.all(view.recent.map((r) => readRun(client, r)));
    ctx.emit({ schedule: view });
    ctx.print(renderScheduleDescription(view, ctx.style));
    return EXIT.ok;
  },
};

/** pause, unpause, trigger and delete: one call on the schedule's handle, once it is known to be ours. */
function steer(
  verb: 'pause' | 'unpause' | 'trigger' | 'delete',
  summary: string,
  act: (ctx: Context, handle: ScheduleHandle, view: ScheduleView, note: string | undefined) => Promise<string>,
  withNote = false,
): Command {
  return {
    name: `schedule ${verb}`,
    summary,
    positionals: [NAME_ARG],
    options: withNote
      ? { note: { type: 'string', value: '<text>', description: 'why (shown by describe and the Web UI)' } }
      : {},
    async run(ctx, { args, opts }) {
      const { client } = await ctx.connection();
      const { view } = await describeOurs(client, checkName(args.name!));
      const done = await act(ctx, client.schedule.getHandle(view.scheduleId), view, opts.note as string | undefined);
      ctx.emit({ name: view.name, scheduleId: view.scheduleId, action: verb, done, exitCode: EXIT.ok });
      ctx.print(done);
      return EXIT.ok;
    },
  };
}

export const pauseVerb = steer(
  'pause',
  'Pause a schedule: no run starts until it is unpaused (a run under way goes on).',
  async (ctx, h, v, note) => {
    await h.pause(note ?? `paused by ${ctx.operator()}`);
    return `paused schedule ${v.name}${v.paused ? ' (it was paused already)' : ''}`;
  },
  true,
);

export const unpauseVerb = steer(
  'unpause',
  'Unpause a schedule: its runs start again at their times.',
  async (ctx, h, v, note) => {
    await h.unpause(note ?? `unpaused by ${ctx.operator()}`);
    return `unpaused schedule ${v.name}${v.paused ? '' : ' (it was not paused)'}`;
  },
  true,
);

export const triggerVerb = steer(
  'trigger',
  'Start a run of the schedule now (skipped if one is still running).',
  async (_ctx, h, v) => {
    // SKIP, as the schedule's own runs: a trigger never starts a second reset beside one under way.
    await h.trigger('SKIP');
    return `triggered schedule ${v.name}: a run starts now unless one is still running (see: reset-runbook schedule describe ${v.name})`;
  },
);

export const deleteVerb = steer('delete', 'Delete a schedule (runs it started go on).', async (_ctx, h, v) => {
  await h.delete();
  const again =
    v.source === 'targets-file'
      ? '; the targets file still has it: the next `schedule sync` makes it again unless its block is removed'
      : '';
  return `deleted schedule ${v.name}${again}`;
});
