/**
 * Takes what the CLI knows about a run at one moment (the Snapshot): the server's description
 * (status, pending activities with their heartbeat progress, search attributes), the workflow's
 * `progress` query (when a worker answers it) and, once closed, its result or failure.
 */
import { Client, WorkflowHandle, WorkflowNotFoundError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { HeartbeatProgress, ResetResult, SEARCH_ATTRIBUTES, TASK_QUEUE, progressQuery } from '../contract';
import { CliError } from './errors';
import { EXIT } from './exit-codes';
import { deriveFromHistory } from './history';
import { decodeRawPayloads } from '../encryption/decode-raw';
import { keyErrorIn } from '../encryption/codec';
import type { Snapshot } from './snapshot-model';
import { DEFAULT_HEARTBEAT_TIMEOUT_SECONDS, tsToIso, workersSeen } from './snapshot-pollers';

/** Heartbeat details -> HeartbeatProgress, or undefined if they are not in that shape. */
export function decodeHeartbeat(
  payloads: temporal.api.common.v1.IPayload[] | null | undefined,
): HeartbeatProgress | undefined {
  if (!payloads?.length) return undefined;
  try {
    const value = defaultPayloadConverter.fromPayload<unknown>(payloads[0] as never);
    return asHeartbeatProgress(value);
  } catch {
    return undefined;
  }
}

export function asHeartbeatProgress(value: unknown): HeartbeatProgress | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  if (
    (v.unit === 'bytes' || v.unit === 'objects' || v.unit === 'tables' || v.unit === 'processes') &&
    typeof v.done === 'number'
  ) {
    return {
      unit: v.unit,
      done: v.done,
      total: typeof v.total === 'number' ? v.total : undefined,
      position: typeof v.position === 'string' ? v.position : undefined,
    };
  }
  return undefined;
}

const ACTIVITY_STATES: Record<number, string> = {
  0: 'UNSPECIFIED',
  1: 'SCHEDULED',
  2: 'STARTED',
  3: 'CANCEL_REQUESTED',
  4: 'PAUSED',
  5: 'PAUSE_REQUESTED',
};

function firstString(sa: unknown): string | undefined {
  if (Array.isArray(sa)) return sa.length ? String(sa[0]) : undefined;
  return typeof sa === 'string' ? sa : undefined;
}

export interface SnapshotOptions {
  /** How long to wait for a worker to answer the progress query. */
  queryTimeoutMs?: number;
  /** Skip the query (e.g. when no worker polls and it would only time out). */
  query?: boolean;
  /** Also fetch the result of a closed run. */
  result?: boolean;
  /** Also look for workers on the task queue. */
  workers?: boolean;
}

/** A run sealed with a key this CLI lacks: say so, rather than show a view built on what it could not read. */
function refuseUnreadable(err: unknown, workflowId: string): void {
  const keyErr = keyErrorIn(err);
  if (keyErr) {
    throw new CliError(
      `cannot read run ${workflowId}: ${keyErr.message}`,
      EXIT.usage,
      `RR_CODEC_KEYS must hold the key "${keyErr.keyId}" (keep retired keys after the current one)`,
    );
  }
}

export async function takeSnapshot(
  client: Client,
  handle: WorkflowHandle,
  opts: SnapshotOptions = {},
): Promise<Snapshot> {
  const desc = await handle.describe();
  const codecs = client.options.loadedDataConverter.payloadCodecs;
  // Heartbeat details and last failures come raw from describe: sealed when payloads are encrypted.
  const raw = await decodeRawPayloads(desc.raw, codecs).catch((err) => {
    refuseUnreadable(err, desc.workflowId);
    throw err;
  });
  const sa = desc.searchAttributes as Record<string, unknown> | undefined;
  const snap: Snapshot = {
    workflowId: desc.workflowId,
    runId: desc.runId,
    workflowType: desc.type,
    status: desc.status.name,
    startTime: desc.startTime.toISOString(),
    closeTime: desc.closeTime?.toISOString(),
    target: firstString(sa?.[SEARCH_ATTRIBUTES.target]),
    step: firstString(sa?.[SEARCH_ATTRIBUTES.step]),
    outcome: firstString(sa?.[SEARCH_ATTRIBUTES.outcome]),
    activities: (raw.pendingActivities ?? []).map((a) => ({
      activityId: a.activityId ?? '',
      type: a.activityType?.name ?? '?',
      state: ACTIVITY_STATES[Number(a.state ?? 0)] ?? String(a.state),
      attempt: a.attempt ?? 1,
      progress: decodeHeartbeat(a.heartbeatDetails?.payloads),
      lastHeartbeat: tsToIso(a.lastHeartbeatTime as never),
      lastFailure: a.lastFailure?.message ?? undefined,
    })),
  };
  const running = snap.status === 'RUNNING';
  const taskQueue = raw.executionConfig?.taskQueue?.name ?? TASK_QUEUE;
  snap.taskQueue = taskQueue;
  const wft = raw.pendingWorkflowTask;
  if (
    running &&
    wft &&
    Number(wft.state) === temporal.api.enums.v1.PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED
  ) {
    const since = tsToIso(wft.scheduledTime as never);
    if (since) snap.workflowTaskWaitingSince = since;
  }
  // The query is the proof: a worker that answers it runs this run. The pollers only say when
  // something last polled (the server lists a dead worker's pollers for minutes).
  const wantQuery = opts.query ?? true;
  if (wantQuery) {
    try {
      snap.progress = await client.withDeadline(Date.now() + (opts.queryTimeoutMs ?? 5000), () =>
        handle.query(progressQuery),
      );
    } catch (err) {
      refuseUnreadable(err, desc.workflowId);
      snap.progressError = queryErrorText(err);
    }
  }
  if (!running && opts.result !== false) {
    try {
      snap.result = (await handle.result()) as ResetResult;
    } catch (err) {
      refuseUnreadable(err, desc.workflowId);
      snap.failure = failureText(err);
      const type = failureType(err);
      if (type) snap.failureType = type;
      // The runbook ends a rejected or aborted run as a failure that carries its ResetResult.
      const details = failureDetails(err);
      if (details && typeof details === 'object' && 'outcome' in details && 'target' in details)
        snap.result = details as ResetResult;
    }
  }
  // Without the workflow's own answer, the history says what the run has done and waits for.
  // A run closed from outside (terminated) wrote no ending: only its history tells what it left behind.
  const needHistory = (wantQuery && !snap.progress) || snap.status === 'TERMINATED' || snap.status === 'TIMED_OUT';
  if (needHistory) {
    try {
      const history = await decodeRawPayloads(await handle.fetchHistory(), codecs);
      snap.history = deriveFromHistory(history.events ?? [], snap.activities);
    } catch {
      // the view goes on with what describe gave
    }
  }
  const heartbeat =
    snap.progress?.plan?.settings?.heartbeatTimeoutSeconds ??
    snap.history?.heartbeatTimeoutSeconds ??
    DEFAULT_HEARTBEAT_TIMEOUT_SECONDS;
  if (opts.workers || running) {
    try {
      snap.pollers = await workersSeen(client, taskQueue, new Date(), heartbeat);
    } catch {
      // describeTaskQueue may be denied by an authorizer; the view goes on without it.
    }
  }
  // No answer in time, or no poll within the heartbeat timeout: no worker runs this run now. A quick
  // refusal while a worker polls (e.g. its first workflow task not yet done) is not that: the view
  // shows the error and the history instead.
  const timedOut = snap.progressError === NO_ANSWER;
  const recentPoll = !!snap.pollers && snap.pollers.workflowPollers > 0;
  if (running && wantQuery && !snap.progress && (timedOut || !recentPoll)) {
    snap.noWorker = {
      taskQueue,
      lastPollAt: snap.pollers?.lastPollAt,
      heartbeatTimeoutSeconds: heartbeat,
      recentPoll,
      queryError: snap.progressError ?? 'no answer',
    };
  }
  return snap;
}

const NO_ANSWER = 'no worker answered the progress query in time';

function queryErrorText(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/deadline|DEADLINE_EXCEEDED/i.test(msg)) return NO_ANSWER;
  return msg;
}

/** The innermost cause of a workflow failure, which is the message an operator can act on. */
export function failureText(err: unknown): string {
  let e: unknown = err;
  const parts: string[] = [];
  while (e instanceof Error) {
    if (e.message) parts.push(e.message);
    e = (e as { cause?: unknown }).cause;
  }
  return parts.length ? parts[parts.length - 1] : String(err);
}

/** The type of the innermost ApplicationFailure in a failure chain (a refusal's kind, e.g. UnknownTarget). */
export function failureType(err: unknown): string | undefined {
  let found: string | undefined;
  let e: unknown = err;
  while (e instanceof Error) {
    const t = (e as { type?: unknown }).type;
    if (typeof t === 'string' && t) found = t;
    e = (e as { cause?: unknown }).cause;
  }
  return found;
}

/** The first detail of the innermost ApplicationFailure in a failure chain. */
export function failureDetails(err: unknown): unknown {
  let found: unknown;
  let e: unknown = err;
  while (e instanceof Error) {
    const d = (e as { details?: unknown[] }).details;
    if (Array.isArray(d) && d.length) found = d[0];
    e = (e as { cause?: unknown }).cause;
  }
  return found;
}

/**
 * A run is named by its workflow id ("reset-demo", "plan-demo-20261126T150405"), or by a target
 * name, meaning that target's reset ("demo" -> "reset-demo").
 */
export async function resolveRun(client: Client, run: string, runId?: string): Promise<WorkflowHandle> {
  const candidates = /^(reset|plan)-/.test(run) ? [run] : [run, `reset-${run}`];
  for (const id of candidates) {
    const handle = client.workflow.getHandle(id, runId);
    try {
      await handle.describe();
      return client.workflow.getHandle(id, runId ?? (await handle.describe()).runId);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) continue;
      throw err;
    }
  }
  throw new CliError(
    `no run "${run}"${runId ? ` with run id ${runId}` : ''} in namespace ${client.options.namespace}`,
    EXIT.notFound,
    'see: reset-runbook list',
  );
}

/** Rate of progress per activity, from the samples seen while following. */
export class RateTracker {
  private samples = new Map<string, { t: number; done: number }[]>();
  constructor(private readonly windowMs = 15_000) {}

  add(key: string, done: number, t: number): void {
    const list = this.samples.get(key) ?? [];
    const last = list[list.length - 1];
    if (last && done < last.done) list.length = 0; // restarted from an earlier position
    if (!last || last.done !== done || t - last.t > 1000) list.push({ t, done });
    while (list.length > 2 && t - list[0].t > this.windowMs) list.shift();
    this.samples.set(key, list);
  }

  /** Units per second over the window, or undefined with fewer than two samples. */
  rate(key: string): number | undefined {
    const list = this.samples.get(key);
    if (!list || list.length < 2) return undefined;
    const a = list[0];
    const b = list[list.length - 1];
    if (b.t <= a.t) return undefined;
    return ((b.done - a.done) / (b.t - a.t)) * 1000;
  }

  rates(): Record<string, number | undefined> {
    const out: Record<string, number | undefined> = {};
    for (const k of this.samples.keys()) out[k] = this.rate(k);
    return out;
  }
}
