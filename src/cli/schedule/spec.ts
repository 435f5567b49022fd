/**
 * What a schedule of ours is, as Temporal's Schedule API takes it: when it runs (cron or interval,
 * time zone, jitter), what it starts (an unattended `resetFleet` in mode execute) and its policies.
 * Pure: `schedule create` and `schedule sync` build the same options from the same two halves, so a
 * schedule made by hand and one made from the targets file differ only in their memo.
 */
import { createHash } from 'node:crypto';
import type { ScheduleOptions } from '@temporalio/client';
import {
  WORKFLOW_TASK_TIMEOUT,
  FLEET_WORKFLOW_TYPE,
  FleetInput,
  ScheduleMemo,
  scheduledWorkflowId,
  scheduleId,
  Share,
} from '../../contract';
import { DURATION_RULE, durationToMs, isDuration, TARGET_NAME, TARGET_NAME_RULE } from '../../config/rules';

/** When a schedule runs, as given (a flag or the file's schedule block). */
export interface ScheduleWhen {
  /** Five-field cron, e.g. "0 5 * * *". Give this or `every`. */
  cron?: string;
  /** An interval, e.g. "30s" (tests, and resets more often than a cron can say). */
  every?: string;
  /** IANA time zone of the cron; default UTC. */
  timezone?: string;
  jitter?: string;
  pauseOnFailure: boolean;
}

/** What a schedule resets: a target, or a group with its fleet limits. */
export interface ScheduleWhat {
  name: string;
  resets: ScheduleMemo['resets'];
  maxConcurrent?: Share;
  maxFailures?: Share;
  batches?: Share[];
}

/**
 * Temporal's default catch-up window is a year: after the server was down at 05:00, the missed reset
 * would run whenever it came back, perhaps at noon while people use the app. Ten minutes rides out a
 * server restart; a run later than that is skipped (describe counts it as missed) and the next one
 * keeps its own time. (A worker that is down does not matter here: the run is started and waits.)
 */
export const CATCHUP_WINDOW = '10m';

/**
 * Bumped when the action or policies built here change shape, so `schedule sync` updates every
 * schedule it made with the older shape.
 */
const ACTION_VERSION = 1;

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'],
  },
  { name: 'day-of-week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

/**
 * A problem with a five-field cron (Temporal's syntax: `*`, values, ranges `a-b`, steps `/n`, lists
 * `a,b`, month and day names), or undefined. Checked here so that a typo is a usage error before
 * anything (the plan run, the schedule) is touched.
 */
export function cronProblem(cron: string): string | undefined {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5)
    return `expected five fields (minute hour day-of-month month day-of-week), e.g. "0 5 * * *"; got ${fields.length}`;
  for (let i = 0; i < 5; i++) {
    const f = FIELDS[i];
    const value = (v: string): number | undefined => {
      const byName = f.names?.indexOf(v.toLowerCase()) ?? -1;
      if (byName >= 0) return byName + f.min;
      return /^\d+$/.test(v) ? Number(v) : undefined;
    };
    for (const item of fields[i].split(',')) {
      const m = /^(\*|[^-/]+(?:-[^-/]+)?)(?:\/(\d+))?$/.exec(item);
      const bad = `${f.name} "${fields[i]}": expected *, a value ${f.min}-${f.max}, a range a-b, a step */n or a list a,b`;
      if (!m) return bad;
      if (m[2] !== undefined && Number(m[2]) < 1) return bad;
      if (m[1] === '*') continue;
      for (const v of m[1].split('-')) {
        const n = value(v);
        if (n === undefined || n < f.min || n > f.max) return bad;
      }
    }
  }
  return undefined;
}

/** Whether the JavaScript runtime knows the IANA zone (as the server's tz database does). */
export function timezoneProblem(tz: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return undefined;
  } catch {
    return `"${tz}" is not an IANA time zone (e.g. "Europe/Berlin", "UTC")`;
  }
}

/** Every problem with a schedule's `when` (empty when it is fine), each naming the flag or field. */
export function whenProblems(w: ScheduleWhen): string[] {
  const out: string[] = [];
  if ((w.cron === undefined) === (w.every === undefined))
    out.push('give a cron (--cron "0 5 * * *") or an interval (--every 30s), one of the two');
  if (w.cron !== undefined) {
    const p = cronProblem(w.cron);
    if (p) out.push(`cron: ${p}`);
  }
  if (w.every !== undefined && (!isDuration(w.every) || durationToMs(w.every)! < 1000))
    out.push(`every: ${JSON.stringify(w.every)} is not ${DURATION_RULE}, of at least 1s`);
  if (w.timezone !== undefined) {
    const p = timezoneProblem(w.timezone);
    if (p) out.push(`timezone: ${p}`);
  }
  if (w.jitter !== undefined && !isDuration(w.jitter))
    out.push(`jitter: ${JSON.stringify(w.jitter)} is not ${DURATION_RULE}`);
  return out;
}

/** A count ("3") or a share ("25%"), as the CLI takes it. */
export function parseShare(text: string): Share | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  if (/^\d+(\.\d+)?%$/.test(text)) return text as Share;
  return undefined;
}

export function nameProblem(name: string): string | undefined {
  return TARGET_NAME.test(name) ? undefined : `${JSON.stringify(name)}: a target or group name is ${TARGET_NAME_RULE}`;
}

/** The input of every run the schedule starts: unattended, so nobody is waited for. */
export function scheduledFleetInput(what: ScheduleWhat): FleetInput {
  const input: FleetInput = {
    name: what.name,
    mode: 'execute',
    unattended: true,
    onChildPause: 'abort',
    schedule: scheduleId(what.name),
  };
  if ('group' in what.resets) input.group = what.resets.group;
  else input.targets = [what.resets.target];
  if (what.maxConcurrent !== undefined) input.maxConcurrent = what.maxConcurrent;
  if (what.maxFailures !== undefined) input.maxFailures = what.maxFailures;
  if (what.batches !== undefined) input.batches = what.batches;
  return input;
}

/** The plan run that must come before a schedule: the same fleet, mode plan, unattended. */
export function unattendedPlanInput(what: ScheduleWhat): FleetInput {
  return { ...scheduledFleetInput(what), mode: 'plan', schedule: undefined };
}

/** A short digest of everything the schedule is built from: a change in any of it is an update. */
export function scheduleDigest(what: ScheduleWhat, when: ScheduleWhen, taskQueue: string): string {
  const canonical = JSON.stringify({
    v: ACTION_VERSION,
    taskQueue,
    input: scheduledFleetInput(what),
    when: {
      cron: when.cron?.trim().split(/\s+/).join(' '),
      every: when.every,
      timezone: when.timezone ?? 'UTC',
      jitter: when.jitter,
      pauseOnFailure: when.pauseOnFailure,
    },
  });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/**
 * What the schedule's action memo keeps (readable on every run it starts, and updatable, unlike the schedule's memo).
 */
export interface ActionMemo {
  schedule: string;
  when: ScheduleWhen;
  specDigest: string;
}

/** The whole ScheduleOptions of a schedule of ours. */
export function scheduleOptions(
  what: ScheduleWhat,
  when: ScheduleWhen,
  o: { taskQueue: string; source: ScheduleMemo['source'] },
): ScheduleOptions {
  const specDigest = scheduleDigest(what, when, o.taskQueue);
  const memo: ScheduleMemo = {
    managedBy: 'reset-runbook',
    source: o.source,
    resets: what.resets,
    taskQueue: o.taskQueue,
    specDigest,
  };
  const actionMemo: ActionMemo = { schedule: scheduleId(what.name), when: { ...when }, specDigest };
  return {
    scheduleId: scheduleId(what.name),
    spec: {
      ...(when.cron !== undefined ? { cronExpressions: [when.cron.trim().split(/\s+/).join(' ')] } : {}),
      ...(when.every !== undefined ? { intervals: [{ every: when.every as `${number}s` }] } : {}),
      ...(when.timezone !== undefined ? { timezone: when.timezone } : {}),
      ...(when.jitter !== undefined ? { jitter: when.jitter as `${number}m` } : {}),
    },
    action: {
      type: 'startWorkflow',
      workflowType: FLEET_WORKFLOW_TYPE,
      taskQueue: o.taskQueue,
      workflowId: scheduledWorkflowId(what.name),
      args: [scheduledFleetInput(what)],
      workflowTaskTimeout: WORKFLOW_TASK_TIMEOUT,
      memo: actionMemo as unknown as Record<string, unknown>,
    },
    policies: {
      // A reset still running when the next time comes is not joined by a second one (its children
      // hold their targets' `reset-<target>` ids anyway): the time is skipped, and counted.
      overlap: 'SKIP',
      catchupWindow: CATCHUP_WINDOW,
      pauseOnFailure: when.pauseOnFailure,
    },
    memo: memo as unknown as Record<string, unknown>,
  };
}

/** The name a schedule id of ours stands for ("reset-schedule-shop" -> "shop"). */
export function nameOfScheduleId(id: string): string {
  const prefix = scheduleId('');
  return id.startsWith(prefix) ? id.slice(prefix.length) : id;
}

/** A schedule memo of ours, or undefined for anybody else's schedule. */
export function ourMemo(memo: Record<string, unknown> | undefined): ScheduleMemo | undefined {
  return memo?.managedBy === 'reset-runbook' ? (memo as unknown as ScheduleMemo) : undefined;
}
