/**
 * `reset-runbook schedule sync`: make Temporal's schedules match the schedule blocks of the targets
 * file. Every create and update is planned unattended first, as `schedule create` does.
 */
import { Client, ScheduleNotFoundError } from '@temporalio/client';
import { scheduleId } from '../../contract';
import { TARGETS_ENV } from '../../config/load';
import { Command, taskQueueOf } from '../command';
import { Context } from '../context';
import { UsageError } from '../errors';
import { EXIT } from '../exit-codes';
import { PLAN_TIMEOUT, planTimeoutMs } from '../schedule/options';
import { unattendedPlan } from '../schedule/preflight';
import { renderSyncReport } from '../schedule/render';
import { ourMemo, scheduleOptions } from '../schedule/spec';
import {
  diffSchedules,
  ExistingSchedule,
  readTargetsFileForSchedules,
  refuse,
  SyncEntry,
  syncFailed,
} from '../schedule/sync';
import { listOurs } from '../schedule/view';

export const syncVerb: Command = {
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
