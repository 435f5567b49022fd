/**
 * What the CLI knows about a run at one moment (snapshot.ts takes it) and the run list's rows:
 * types and pure reads only, so views, the history and the workers' view import them without
 * importing the code that asks the server.
 */
import type { EndReason, HeartbeatProgress, Progress, ResetResult, WorkersState } from '../contract';
import type { HistoryState } from './history-state';

export interface ActivityView {
  activityId: string;
  type: string;
  state: string;
  attempt: number;
  progress?: HeartbeatProgress;
  lastHeartbeat?: string;
  lastFailure?: string;
}

export interface WorkersSeen {
  taskQueue: string;
  /** Pollers whose last poll is within the target's heartbeat timeout (staleAfterSeconds). */
  workflowPollers: number;
  activityPollers: number;
  identities: string[];
  /** The most recent poll of any worker, live or gone (the server lists pollers for minutes after they die). */
  lastPollAt?: string;
  /**
   * The target's heartbeat timeout (from the run's plan, else the default): a poller seen within it
   * polled recently. An idle worker's long poll lasts up to a minute, so an older poll alone proves
   * nothing either way; the progress query (answered or not) is what tells a run's worker is there.
   */
  staleAfterSeconds: number;
}

export interface Snapshot {
  workflowId: string;
  runId: string;
  workflowType: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT, CONTINUED_AS_NEW. */
  status: string;
  startTime: string;
  closeTime?: string;
  /** From search attributes. */
  target?: string;
  step?: string;
  outcome?: string;
  /** The workflow's own view; absent when no worker answered the query. */
  progress?: Progress;
  progressError?: string;
  activities: ActivityView[];
  pollers?: WorkersSeen;
  /** The run's state derived from its history, when no worker answered the progress query. */
  history?: HistoryState;
  /**
   * Set while the run is RUNNING and no worker answered the progress query: no worker is polling
   * (recentPoll false: no poll within the heartbeat timeout), or one polled lately but did not answer.
   */
  noWorker?: {
    taskQueue: string;
    lastPollAt?: string;
    heartbeatTimeoutSeconds: number;
    recentPoll: boolean;
    queryError: string;
  };
  /**
   * When the run's pending workflow task was scheduled, while no worker has started it: a polling
   * worker takes one within milliseconds, so a few seconds of this means no worker polls right now,
   * even while the server still lists a stopped worker's last polls.
   */
  workflowTaskWaitingSince?: string;
  /** The run's task queue (from describe). */
  taskQueue?: string;
  result?: ResetResult;
  /** Why a closed run did not complete (failed, terminated, timed out). */
  failure?: string;
  /** The innermost ApplicationFailure's type of that failure (src/contract/failures.ts), e.g. "UnknownTarget". */
  failureType?: string;
}

export interface RunSummary {
  workflowId: string;
  runId: string;
  kind: 'plan' | 'reset' | 'other';
  target?: string;
  status: string;
  outcome?: string;
  step?: string;
  startTime: string;
  closeTime?: string;
  /** From the ended run's result (list reads it for failed resets). */
  endReason?: EndReason;
  workers?: WorkersState;
  /** Set when the run left the workers stopped. */
  stillStopped?: LeftStopped;
}

export function kindOf(workflowId: string): RunSummary['kind'] {
  return workflowId.startsWith('plan-') ? 'plan' : workflowId.startsWith('reset-') ? 'reset' : 'other';
}

/** The run's phase: the workflow's own word, else what its history shows. */
export function phaseOf(snap: Pick<Snapshot, 'progress' | 'history'>): string | undefined {
  return snap.progress?.phase ?? snap.history?.phase;
}

/** Set when a run left the Solid Queue workers stopped: what the red line says (workers-view.ts). */
export interface LeftStopped {
  /** The run was closed from outside after stopping the workers: nothing started them, nothing knows more. */
  uncertain?: boolean;
  /** How it was closed (TERMINATED, TIMED_OUT), when uncertain. */
  closedAs?: string;
  /** ISO time the run stopped them, when anything recorded it. */
  since?: string;
  startCommand?: string;
  lastError?: string;
}
