/**
 * A run's history events read into facts (history.ts makes the run's state of them): which step each
 * activity ran, what each signal carried, the approval's deadline timer, and whether the run has closed.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import {
  LOCAL_ACTIVITY_MARKER,
  STEP_TITLES,
  stepOfActivity,
  verifyMismatchMessage,
  type Plan,
  type ResetInput,
  type StepName,
  type StepState,
} from '../contract';
import type { SignalSeen } from './history-state';

export type Event = temporal.api.history.v1.IHistoryEvent;

/** Activity type -> the step it runs (the compensation's startWorkers is told apart by when it runs). */
const STEP_OF_ACTIVITY = stepOfActivity('reset');

const planDetail = (plan: Plan) =>
  `${plan.tables.filter((t) => t.action === 'truncate').length} tables to truncate, ${plan.tables.filter((t) => t.action === 'keep').length} kept`;

function iso(ts: Event['eventTime']): string {
  if (!ts || ts.seconds == null) return new Date(0).toISOString();
  return new Date(Number(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString();
}

type Payloads = temporal.api.common.v1.IPayload[] | null | undefined;

function decode<T>(payloads: Payloads): T | undefined {
  if (!payloads?.length) return undefined;
  try {
    return defaultPayloadConverter.fromPayload<T>(payloads[0] as never);
  } catch {
    return undefined;
  }
}

function innermost(f: temporal.api.failure.v1.IFailure | null | undefined): string {
  let msg = f?.message ?? 'failed';
  let e = f?.cause;
  while (e) {
    if (e.message) msg = e.message;
    e = e.cause;
  }
  return msg;
}

export function stepOf(type: string | null | undefined, summary: string | undefined): StepName | undefined {
  if (summary) {
    const byTitle = (Object.entries(STEP_TITLES) as [StepName, string][]).find(([, t]) => t === summary);
    if (byTitle) return byTitle[0];
  }
  return type ? STEP_OF_ACTIVITY[type] : undefined;
}

export function stepState(steps: Map<StepName, StepState>, name: StepName): StepState {
  let s = steps.get(name);
  if (!s) steps.set(name, (s = { name, title: STEP_TITLES[name], status: 'pending', attempts: 0 }));
  return s;
}

type SignalEvent = SignalSeen & { eventId: number; args?: unknown };

export interface HistoryFacts {
  input?: ResetInput;
  plan?: Plan;
  steps: Map<StepName, StepState>;
  signals: SignalEvent[];
  taskScheduledAt?: string;
  lastFailure?: { step: StepName; error: string; at: string; eventId: number };
  lastCompleted?: { step: StepName; at: string };
  approvalTimer?: { id: string; since: string; deadline?: string; fired: boolean; cancelled: boolean };
  compensating: boolean;
  ended: boolean;
  endedAt?: string;
  stoppedSince?: string;
}

/** One pass over the events, in order; each signal's seenByRun is set from the last completed workflow task. */
export function readEvents(events: Event[]): HistoryFacts {
  let input: ResetInput | undefined;
  let plan: Plan | undefined;
  const steps = new Map<StepName, StepState>();
  const scheduled = new Map<string, { step?: StepName; compensation: boolean; at: string }>();
  const signals: SignalEvent[] = [];
  let lastTaskCompletedId = 0;
  let taskScheduledAt: string | undefined;
  let lastFailure: HistoryFacts['lastFailure'];
  let lastCompleted: HistoryFacts['lastCompleted'];
  let approvalTimer: HistoryFacts['approvalTimer'];
  let compensating = false;
  let ended = false;
  let endedAt: string | undefined;
  let stoppedSince: string | undefined;

  // How a step's end reads, whether an activity's event or a local activity's marker tells it.
  const stepDone = (step: StepName, at: string, result: Payloads, eventId: number) => {
    if (step === 'verify') {
      // Step 6 returns its counts even when they are wrong, and the run fails the step on them.
      const v = decode<{ ok?: boolean; report?: string; hints?: string[] }>(result);
      if (v?.ok === false)
        return stepFailed(step, at, verifyMismatchMessage({ report: v.report ?? '', hints: v.hints ?? [] }), eventId);
    }
    const s = stepState(steps, step);
    s.status = 'done';
    s.endedAt = at;
    s.error = undefined;
    lastCompleted = { step, at };
    if (lastFailure?.step === step) lastFailure = undefined;
    if (step === 'startWorkers') stoppedSince = undefined;
    if (step === 'plan') {
      plan = decode<Plan>(result);
      if (plan) s.detail = planDetail(plan);
    }
  };
  const stepFailed = (step: StepName, at: string, error: string, eventId: number) => {
    const s = stepState(steps, step);
    s.status = 'failed';
    s.endedAt = at;
    s.error = error;
    lastFailure = { step, error, at, eventId };
  };

  for (const e of events) {
    const at = iso(e.eventTime);
    const id = Number(e.eventId ?? 0);
    if (e.workflowExecutionStartedEventAttributes) {
      input = decode<ResetInput>(e.workflowExecutionStartedEventAttributes.input?.payloads);
    } else if (e.workflowTaskScheduledEventAttributes) {
      taskScheduledAt = at;
    } else if (e.workflowTaskStartedEventAttributes) {
      // taken by a worker; a new scheduled event follows if it fails or times out
    } else if (e.workflowTaskCompletedEventAttributes) {
      lastTaskCompletedId = id;
      taskScheduledAt = undefined;
    } else if (e.workflowTaskTimedOutEventAttributes || e.workflowTaskFailedEventAttributes) {
      taskScheduledAt = taskScheduledAt ?? at;
    } else if (e.activityTaskScheduledEventAttributes) {
      const a = e.activityTaskScheduledEventAttributes;
      const summary = decode<string>(e.userMetadata?.summary ? [e.userMetadata.summary] : undefined);
      const step = stepOf(a.activityType?.name, summary);
      // A start of the workers after a failure or an abort, before step 5 is due, is compensation.
      const compensation =
        step === 'startWorkers' &&
        (lastFailure !== undefined || signals.some((s) => s.name === 'abort')) &&
        !steps.has('verify');
      scheduled.set(String(id), { step, compensation, at });
      if (compensation) compensating = true;
      else if (step) {
        const s = stepState(steps, step);
        s.status = 'running';
        s.attempts++;
        s.startedAt = at;
        s.endedAt = undefined;
        s.error = undefined;
        if (step === 'stopWorkers' && !stoppedSince) stoppedSince = at;
        if (lastFailure?.step === step) lastFailure = undefined; // an operator's retry re-runs it
      }
    } else if (e.activityTaskStartedEventAttributes) {
      // An activity the server retries (the plan, in runs from before it was local) is scheduled once; its started
      // event names the last try.
      const a = e.activityTaskStartedEventAttributes;
      const sch = scheduled.get(String(a.scheduledEventId));
      if (sch?.step && !sch.compensation) stepState(steps, sch.step).attempts += Math.max(0, (a.attempt ?? 1) - 1);
    } else if (e.activityTaskCompletedEventAttributes) {
      const a = e.activityTaskCompletedEventAttributes;
      const sch = scheduled.get(String(a.scheduledEventId));
      if (sch?.compensation) {
        compensating = false;
        stoppedSince = undefined;
      } else if (sch?.step) stepDone(sch.step, at, a.result?.payloads, id);
    } else if (e.activityTaskFailedEventAttributes || e.activityTaskTimedOutEventAttributes) {
      const a = (e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes)!;
      const sch = scheduled.get(String(a.scheduledEventId));
      if (sch?.compensation) compensating = false;
      else if (sch?.step) stepFailed(sch.step, at, innermost(a.failure), id);
    } else if (e.activityTaskCanceledEventAttributes) {
      const sch = scheduled.get(String(e.activityTaskCanceledEventAttributes.scheduledEventId));
      if (sch?.step && !sch.compensation) {
        const s = stepState(steps, sch.step);
        s.status = 'failed';
        s.endedAt = at;
        s.error = 'cancelled';
      }
    } else if (e.markerRecordedEventAttributes?.markerName === LOCAL_ACTIVITY_MARKER) {
      // A local activity (the plan, the verify: src/workflows/activities.ts) leaves one marker once it has ended,
      // with its type and last try in `data`, and its result or failure.
      const m = e.markerRecordedEventAttributes;
      const data = decode<{ activity_type?: string; attempt?: number; backoff?: unknown }>(m.details?.data?.payloads);
      const summary = decode<string>(e.userMetadata?.summary ? [e.userMetadata.summary] : undefined);
      const step = stepOf(data?.activity_type, summary);
      if (!step || step === 'startWorkers') continue;
      const s = stepState(steps, step);
      // The plan's tries are the policy's, all in this marker; every other step's are the workflow's, one per marker.
      s.attempts = step === 'plan' ? Math.max(s.attempts, data?.attempt ?? 1) : s.attempts + 1;
      s.startedAt = s.startedAt ?? at;
      if (m.failure && data?.backoff) {
        s.status = 'running'; // tried again after a timer
      } else if (m.failure) stepFailed(step, at, innermost(m.failure), id);
      else stepDone(step, at, m.details?.result?.payloads, id);
    } else if (e.workflowExecutionSignaledEventAttributes) {
      const a = e.workflowExecutionSignaledEventAttributes;
      const args = decode<{ by?: string }>(a.input?.payloads);
      signals.push({ name: a.signalName ?? '?', at, by: args?.by, seenByRun: false, eventId: id, args });
      if (a.signalName === 'retry' && lastFailure) lastFailure = undefined;
    } else if (e.timerStartedEventAttributes) {
      const a = e.timerStartedEventAttributes;
      const ms = a.startToFireTimeout
        ? Number(a.startToFireTimeout.seconds ?? 0) * 1000 + Math.floor((a.startToFireTimeout.nanos ?? 0) / 1e6)
        : undefined;
      // The only timer the runbook starts after its backup is the approval's deadline.
      if (steps.get('backup')?.status === 'done' && !steps.has('stopWorkers')) {
        approvalTimer = {
          id: a.timerId ?? '',
          since: at,
          deadline: ms !== undefined ? new Date(Date.parse(at) + ms).toISOString() : undefined,
          fired: false,
          cancelled: false,
        };
      }
    } else if (e.timerFiredEventAttributes) {
      if (approvalTimer && e.timerFiredEventAttributes.timerId === approvalTimer.id) approvalTimer.fired = true;
    } else if (e.timerCanceledEventAttributes) {
      if (approvalTimer && e.timerCanceledEventAttributes.timerId === approvalTimer.id) approvalTimer.cancelled = true;
    } else if (
      e.workflowExecutionCompletedEventAttributes ||
      e.workflowExecutionFailedEventAttributes ||
      e.workflowExecutionCanceledEventAttributes ||
      e.workflowExecutionTerminatedEventAttributes ||
      e.workflowExecutionTimedOutEventAttributes ||
      e.workflowExecutionContinuedAsNewEventAttributes
    ) {
      ended = true;
      endedAt = at;
    }
  }
  for (const s of signals) s.seenByRun = s.eventId < lastTaskCompletedId;
  return {
    input,
    plan,
    steps,
    signals,
    taskScheduledAt,
    lastFailure,
    lastCompleted,
    approvalTimer,
    compensating,
    ended,
    endedAt,
    stoppedSince,
  };
}
