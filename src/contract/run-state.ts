/**
 * The words a run uses for where it is and how it ended, shared by the reset, the restore and the
 * fleet (which reports its children's): kept apart from those so that none of them imports another.
 */

export type Phase =
  | 'planning'
  | 'running'
  | 'awaiting-approval'
  | 'waiting-for-operator'
  | 'compensating'
  | 'completed'
  | 'failed'
  | 'aborted'
  | 'cancelled';

/** Whether the target's Solid Queue workers run, as far as this run knows. */
export interface WorkersState {
  /**
   * untouched: this run never stopped them · stopped: stopped by this run (a step needs them stopped)
   * · restarting: the run is starting them again (compensation) · running: started again by this run
   * · still-stopped: starting them failed within the restart budget; a person must start them
   * · left-stopped: none was alive before the reset and the target says to leave them so
   *   (workers.whenNoneAliveBefore: "leave"): stopped, as they were, on purpose.
   */
  status: 'untouched' | 'stopped' | 'restarting' | 'running' | 'still-stopped' | 'left-stopped';
  /** When this run stopped them (ISO time). */
  stoppedSince?: string;
  /**
   * When this run last started them again (ISO time; step 5 or compensation): with stoppedSince, the
   * workers-stopped window. Absent while they are stopped, and in runs from before it.
   */
  startedAgainAt?: string;
  /** The target's start command, so an operator can start them by hand (the targets file holds no secrets). */
  startCommand?: string;
  /** While (and after) compensating: attempt n of at most maxAttempts, within the budget ending at deadline. */
  restart?: { attempt: number; maxAttempts: number; deadline: string; lastError?: string };
}

/** Why a run ended, for scripts and the CLI's exit codes; `outcome` says how. */
export type EndReason =
  | 'completed'
  | 'planned'
  | 'refused'
  | 'planFailed'
  | 'approvalTimedOut'
  /** A person rejected the run while it waited for approval (`reset-runbook reject`): nothing was touched. */
  | 'rejected'
  | 'aborted'
  | 'cancelled'
  | 'stepFailed'
  /** The run could not start the workers again: they are stopped, and a person must start them. */
  | 'workersStillStopped';

/** Heartbeat details of long activities: what `follow` shows as a progress bar. */
export interface HeartbeatProgress {
  unit: 'bytes' | 'objects' | 'tables' | 'processes';
  done: number;
  total?: number;
  /** Opaque resume position (e.g. the last key deleted). */
  position?: string;
}
