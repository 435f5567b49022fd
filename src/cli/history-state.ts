/**
 * The run's state as its history shows it (history.ts derives it): its own module, so a snapshot
 * can carry it without importing the code that reads the history.
 */
import type { Mode, Plan, StepName, StepState } from '../contract';

export interface SignalSeen {
  name: string;
  at: string;
  by?: string;
  /** False when no workflow task has completed since it arrived: the run's code has not seen it yet. */
  seenByRun: boolean;
  /** For approve: why the run will refuse it (wrong name, digest), checked as the run checks it. */
  problem?: string;
}

export type HistoryPhase =
  'planning' | 'running' | 'awaiting-approval' | 'waiting-for-operator' | 'compensating' | 'ended';

export interface HistoryState {
  target?: string;
  mode?: Mode;
  plan?: Plan;
  steps: StepState[];
  /** What the history shows the run doing, from its last events (not a guess: see `why`). */
  phase: HistoryPhase;
  /** The events that show the phase, in words. */
  why: string;
  currentStep?: StepName;
  lastCompleted?: { step: StepName; at: string };
  approval?: { database?: string; since: string; deadline?: string };
  waiting?: { step: StepName; error: string; since: string };
  signals: SignalSeen[];
  /** A workflow task is scheduled and no worker has taken it: the run cannot move until one does. */
  workflowTaskWaitingSince?: string;
  /** From the plan's settings, when the plan step completed. */
  heartbeatTimeoutSeconds?: number;
  /** Workers stopped by this run (stopWorkers started) and not started again since, as far as the history shows. */
  workersStoppedSince?: string;
  /**
   * The same, whatever ended the run: a stop without a completed start after it. Only a run closed
   * without its own ending (terminated, timed out) can leave this set with workers really stopped.
   */
  stoppedWithoutStart?: string;
  /** The reset step (TRUNCATE + seeds) was started at least once: its TRUNCATE may have committed. */
  resetStarted?: boolean;
  startCommand?: string;
}
