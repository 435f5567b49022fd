/**
 * What a run tells the target's webhooks: the events (the targets file's schema validates
 * `notify.events` against this list) and the JSON body each webhook receives.
 */
import type { ResetResult } from './reset';
import type { StepName } from './steps';

/**
 * What a run tells the target's webhooks. waitingForApproval · approvalReceived (one of several
 * required approvals came; who, and how many are still needed) · waitingForOperator (a step failed its
 * retries) · workersStillStopped (compensation failed) · completed · failed · aborted · rejected (a
 * person said no at the approval; nothing was touched).
 */
export const NOTIFY_EVENTS = [
  'waitingForApproval',
  'approvalReceived',
  'waitingForOperator',
  'workersStillStopped',
  'completed',
  'failed',
  'aborted',
  'rejected',
] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/** The JSON body each webhook receives; `text` makes it a valid Slack incoming-webhook message. */
export interface NotifyMessage {
  event: NotifyEvent;
  target: string;
  runId: string;
  workflowId: string;
  /** How the run ended; null while it has not (it waits). */
  outcome: ResetResult['outcome'] | null;
  /** The step the message is about (the failed or current one); null before any. */
  step: StepName | null;
  text: string;
}
