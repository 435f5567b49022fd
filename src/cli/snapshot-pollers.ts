/**
 * Workers seen on a task queue, from the server's poller list: a hint of whether a worker runs,
 * for before a run exists or when the progress query is not answered.
 */
import { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { TASK_QUEUE, PLAN_DEFAULTS } from '../contract';
import type { WorkersSeen } from './snapshot-model';

/** A protobuf Timestamp (describe's raw times, a poller's last access) as an ISO string. */
export function tsToIso(ts: { seconds?: unknown; nanos?: number | null } | null | undefined): string | undefined {
  if (!ts || ts.seconds == null) return undefined;
  const s = Number(ts.seconds);
  return new Date(s * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString();
}

/** The heartbeat timeout a run's pollers are judged by when its plan (and so its target's setting) is unknown. */
export const DEFAULT_HEARTBEAT_TIMEOUT_SECONDS = PLAN_DEFAULTS.heartbeatTimeoutSeconds;

/**
 * Before any run exists there is no query to ask, only the pollers: an idle worker re-polls when
 * its long poll ends (the server holds it up to a minute), so a poll within this counts as a worker.
 */
export const IDLE_REPOLL_SECONDS = 70;

/** Workers polling the runbook's task queue (workflow and activity pollers) within staleAfterSeconds. */
export async function workersSeen(
  client: Client,
  taskQueue = TASK_QUEUE,
  now = new Date(),
  staleAfterSeconds = DEFAULT_HEARTBEAT_TIMEOUT_SECONDS,
): Promise<WorkersSeen> {
  const ask = (type: temporal.api.enums.v1.TaskQueueType) =>
    client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: type,
    });
  const [wf, act] = await Promise.all([
    ask(temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
    ask(temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY),
  ]);
  return summarizePollers(taskQueue, wf.pollers ?? [], act.pollers ?? [], now, staleAfterSeconds);
}

export function summarizePollers(
  taskQueue: string,
  workflowPollers: temporal.api.taskqueue.v1.IPollerInfo[],
  activityPollers: temporal.api.taskqueue.v1.IPollerInfo[],
  now: Date,
  staleAfterSeconds: number,
): WorkersSeen {
  const at = (p: temporal.api.taskqueue.v1.IPollerInfo) =>
    tsToIso(p.lastAccessTime as never) ? Date.parse(tsToIso(p.lastAccessTime as never)!) : 0;
  const live = (p: temporal.api.taskqueue.v1.IPollerInfo) => now.getTime() - at(p) <= staleAfterSeconds * 1000;
  const all = [...workflowPollers, ...activityPollers];
  const last = all.reduce((m, p) => Math.max(m, at(p)), 0);
  const identities = [
    ...new Set(
      all
        .filter(live)
        .map((p) => p.identity ?? '')
        .filter(Boolean),
    ),
  ];
  return {
    taskQueue,
    workflowPollers: workflowPollers.filter(live).length,
    activityPollers: activityPollers.filter(live).length,
    identities,
    lastPollAt: last ? new Date(last).toISOString() : undefined,
    staleAfterSeconds,
  };
}
