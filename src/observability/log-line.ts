/**
 * One log entry as one line: the JSON object of RR_LOG_FORMAT=json, or the SDK's own text format.
 * Pure functions of the entry, the redactor and the known targets, so the unit tests check them
 * without a worker.
 */
import { formatWithOptions } from 'node:util';
import type { LogEntry } from '@temporalio/worker';
import { resetWorkflowId, restoreWorkflowId, drillWorkflowId, scheduledWorkflowId, stepOfActivity } from '../contract';
import type { Redactor } from '../activities/lib/secrets';

/** Activity type -> the runbook step it runs, any procedure's: the step named on an activity's lines. */
export const STEP_OF_ACTIVITY: Readonly<Record<string, string>> = {
  ...stepOfActivity('restore'),
  ...stepOfActivity('reset'),
};

/**
 * The target a workflow id names, among the targets this worker knows: workflow lines carry no
 * arguments, and every per-target id is built by the contract's functions from the target's name.
 */
export function targetOfWorkflowId(workflowId: string, targets: readonly string[]): string | undefined {
  // Longest first: of targets "a" and "a-b", "plan-a-b-…" is a plan of "a-b".
  for (const t of [...targets].sort((a, b) => b.length - a.length)) {
    if ([resetWorkflowId(t), restoreWorkflowId(t), drillWorkflowId(t)].includes(workflowId)) return t;
    if (workflowId.startsWith(`plan-${t}-`) || workflowId.startsWith(`${scheduledWorkflowId(t)}-`)) return t;
  }
  return undefined;
}

const MAX_DEPTH = 6;

/** A JSON-safe copy: errors as their useful fields, bigints and dates as strings, cycles cut. */
export function plain(v: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v !== 'object') return undefined; // functions, symbols, undefined: nothing a reader can use
  if (seen.has(v)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  seen.add(v);
  try {
    if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
    if (ArrayBuffer.isView(v)) return `[${v.byteLength} bytes]`;
    if (Array.isArray(v)) return v.map((x) => plain(x, depth + 1, seen) ?? null);
    if (v instanceof Error) {
      // The fields of an ApplicationFailure a reader acts on; not `failure`, the raw proto with its payloads.
      const e = v as Error & { type?: unknown; nonRetryable?: unknown; code?: unknown; cause?: unknown };
      return compact({
        name: e.name,
        message: e.message,
        type: plain(e.type, depth + 1, seen),
        nonRetryable: plain(e.nonRetryable, depth + 1, seen),
        code: plain(e.code, depth + 1, seen),
        stack: e.stack,
        cause: e.cause === undefined ? undefined : plain(e.cause, depth + 1, seen),
      });
    }
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = plain(x, depth + 1, seen);
    return compact(o);
  } finally {
    seen.delete(v);
  }
}

function compact(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined));
}

export interface LineContext {
  redactor: Redactor;
  /** The targets file's target names, for the target of a workflow's lines. */
  targets: readonly string[];
}

/**
 * The JSON line of one entry: time, level, message, then the run's coordinates where known
 * (workflowId, runId, target, step, attempt), then every other attribute the SDK or the caller gave.
 * Redaction walks the values before serializing: a secret's JSON escaping cannot hide it, and the
 * line stays valid JSON.
 */
export function jsonLine(entry: LogEntry, ctx: LineContext): string {
  const meta = (plain(entry.meta ?? {}) ?? {}) as Record<string, unknown>;
  const { workflowId, workflowRunId, runId, target, step, attempt, ...rest } = meta;
  const fromSdk: Record<string, unknown> = {};
  if (meta.sdkComponent === 'core') {
    // Core's `target` is the Rust module that logged, not a runbook target.
    if (target !== undefined) fromSdk.module = target;
  } else if (target !== undefined) fromSdk.target = target;
  const wf = typeof workflowId === 'string' ? workflowId : undefined;
  const activityType = typeof meta.activityType === 'string' ? meta.activityType : undefined;
  const line = compact({
    time: new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString(),
    level: entry.level.toLowerCase(),
    message: entry.message,
    workflowId: wf,
    runId: runId ?? workflowRunId,
    target: fromSdk.target ?? (wf ? targetOfWorkflowId(wf, ctx.targets) : undefined),
    step: step ?? (activityType ? STEP_OF_ACTIVITY[activityType] : undefined),
    attempt,
    ...(fromSdk.module !== undefined ? { module: fromSdk.module } : {}),
    ...rest,
  });
  return JSON.stringify(ctx.redactor.value(line));
}

/**
 * The SDK's default text line (DefaultLogger's own format: `<date> [LEVEL] message {meta}`), then
 * redacted: text output stays what it was, minus any secret.
 */
export function textLine(entry: LogEntry, redactor: Redactor, colors: boolean): string {
  const format = (x: unknown) => formatWithOptions({ colors }, x);
  const date = new Date(Number(entry.timestampNanos / 1_000_000n));
  const tail = entry.meta === undefined ? '' : ` ${format(entry.meta)}`;
  return redactor.text(`${format(date)} [${entry.level}] ${entry.message}${tail}`);
}
