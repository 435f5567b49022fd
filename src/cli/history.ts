/**
 * What a run's history proves when no worker answers the progress query: the steps started,
 * done and failed (activity events), the signals received and whether the run has seen them yet,
 * the approval wait (its timer), and the plan's settings (the planReset activity's result).
 * Only facts written in the history; where it cannot tell, it says so (never a guess).
 */
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import {
  STEP_TITLES,
  type Mode,
  type Plan,
  type ResetInput,
  type StepName,
  type StepState,
  checkApproval,
} from '../contract';
import { formatTime } from './format';
import type { HistoryPhase, HistoryState, SignalSeen } from './history-state';
import type { ActivityView } from './snapshot-model';

type Event = temporal.api.history.v1.IHistoryEvent;

const ORDER: StepName[] = [
  'plan',
  'backup',
  'approval',
  'stopWorkers',
  'reset',
  'purgeStorage',
  'startWorkers',
  'verify',
];

/** Activity type -> the step it runs (the compensation's startWorkers is told apart by when it runs). */
const STEP_OF_ACTIVITY: Record<string, StepName> = {
  planReset: 'plan',
  backupDatabase: 'backup',
  stopWorkers: 'stopWorkers',
  resetDatabase: 'reset',
  purgeStorage: 'purgeStorage',
  startWorkers: 'startWorkers',
  verifyCounts: 'verify',
};

function iso(ts: Event['eventTime']): string {
  if (!ts || ts.seconds == null) return new Date(0).toISOString();
  return new Date(Number(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString();
}

function decode<T>(payloads: temporal.api.common.v1.IPayload[] | null | undefined): T | undefined {
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

function stepOf(type: string | null | undefined, summary: string | undefined): StepName | undefined {
  if (summary) {
    const byTitle = (Object.entries(STEP_TITLES) as [StepName, string][]).find(([, t]) => t === summary);
    if (byTitle) return byTitle[0];
  }
  return type ? STEP_OF_ACTIVITY[type] : undefined;
}

/** The run's state as its history shows it. `pending` are the server's pending activities (describe). */
export function deriveFromHistory(events: Event[], pending: ActivityView[] = []): HistoryState {
  let input: ResetInput | undefined;
  let plan: Plan | undefined;
  const steps = new Map<StepName, StepState>();
  const scheduled = new Map<string, { step?: StepName; compensation: boolean; at: string }>();
  const signals: (SignalSeen & { eventId: number; args?: unknown })[] = [];
  let lastTaskCompletedId = 0;
  let taskScheduledAt: string | undefined;
  let lastFailure: { step: StepName; error: string; at: string; eventId: number } | undefined;
  let lastCompleted: HistoryState['lastCompleted'];
  let approvalTimer: { id: string; since: string; deadline?: string; fired: boolean; cancelled: boolean } | undefined;
  let compensating = false;
  let ended = false;
  let endedAt: string | undefined;
  let stoppedSince: string | undefined;

  const stepState = (name: StepName) => {
    let s = steps.get(name);
    if (!s) steps.set(name, (s = { name, title: STEP_TITLES[name], status: 'pending', attempts: 0 }));
    return s;
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
        const s = stepState(step);
        s.status = 'running';
        s.attempts++;
        s.startedAt = at;
        s.endedAt = undefined;
        s.error = undefined;
        if (step === 'stopWorkers' && !stoppedSince) stoppedSince = at;
        if (lastFailure?.step === step) lastFailure = undefined; // an operator's retry re-runs it
      }
    } else if (e.activityTaskCompletedEventAttributes) {
      const a = e.activityTaskCompletedEventAttributes;
      const sch = scheduled.get(String(a.scheduledEventId));
      if (sch?.compensation) {
        compensating = false;
        stoppedSince = undefined;
      } else if (sch?.step) {
        const s = stepState(sch.step);
        s.status = 'done';
        s.endedAt = at;
        lastCompleted = { step: sch.step, at };
        if (sch.step === 'startWorkers') stoppedSince = undefined;
        if (sch.step === 'plan') {
          plan = decode<Plan>(a.result?.payloads);
          if (plan)
            s.detail = `${plan.tables.filter((t) => t.action === 'truncate').length} tables to truncate, ${plan.tables.filter((t) => t.action === 'keep').length} kept`;
        }
      }
    } else if (e.activityTaskFailedEventAttributes || e.activityTaskTimedOutEventAttributes) {
      const a = (e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes)!;
      const sch = scheduled.get(String(a.scheduledEventId));
      const error = innermost(a.failure);
      if (sch?.compensation) compensating = false;
      else if (sch?.step) {
        const s = stepState(sch.step);
        s.status = 'failed';
        s.endedAt = at;
        s.error = error;
        lastFailure = { step: sch.step, error, at, eventId: id };
      }
    } else if (e.activityTaskCanceledEventAttributes) {
      const sch = scheduled.get(String(e.activityTaskCanceledEventAttributes.scheduledEventId));
      if (sch?.step && !sch.compensation) {
        const s = stepState(sch.step);
        s.status = 'failed';
        s.endedAt = at;
        s.error = 'cancelled';
      }
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

  // Approval: from the timer to its approve signal (checked as the run checks it), abort or deadline.
  let approval: HistoryState['approval'];
  if (approvalTimer) {
    const ap = stepState('approval');
    ap.startedAt = approvalTimer.since;
    ap.attempts = Math.max(ap.attempts, 1);
    const approves = signals.filter(
      (s) => s.name === 'approve' && Date.parse(s.at) >= Date.parse(approvalTimer!.since),
    );
    for (const s of approves) if (plan) s.problem = checkApproval(plan, s.args as never);
    const good = approves.find((s) => !s.problem);
    if (good && good.seenByRun) {
      ap.status = 'done';
      ap.endedAt = good.at;
      ap.detail = `approved by ${good.by ?? 'an operator'}`;
    } else if (approvalTimer.fired) {
      ap.status = 'failed';
      ap.error = 'no approval before the deadline';
    } else {
      ap.status = 'running';
      approval = { database: plan?.databaseName, since: approvalTimer.since, deadline: approvalTimer.deadline };
      if (good)
        ap.detail = `approve signal from ${good.by ?? 'an operator'} received ${formatTime(good.at)}; the run takes it on its next workflow task`;
    }
  }

  if (ended) {
    // Facts once the run has closed: a step it never finished did not finish.
    for (const s of steps.values()) {
      if (s.status !== 'running') continue;
      s.status = 'failed';
      s.endedAt = endedAt;
      s.error =
        s.name === 'approval'
          ? 'no approval was taken before the run ended'
          : 'the run ended before this step finished';
    }
    approval = undefined;
  }

  const mode: Mode | undefined = input ? (input.mode ?? 'plan') : undefined;
  const names = mode === 'plan' ? ORDER.slice(0, 1) : ORDER;
  const stepList = names.map(
    (n) => steps.get(n) ?? { name: n, title: STEP_TITLES[n], status: 'pending' as const, attempts: 0 },
  );

  const running = pending.find((a) => stepOf(a.type, undefined));
  let phase: HistoryPhase;
  let why: string;
  let currentStep: StepName | undefined;
  let waiting: HistoryState['waiting'];
  const lastRunning = [...stepList].reverse().find((s) => s.status === 'running' && s.name !== 'approval');
  if (ended) {
    phase = 'ended';
    why = 'the history ends with the run closed';
  } else if (compensating) {
    phase = 'compensating';
    currentStep = 'startWorkers';
    why = 'starting the workers again is scheduled and has not finished';
  } else if (running) {
    currentStep = stepOf(running.type, undefined);
    phase = currentStep === 'plan' ? 'planning' : 'running';
    why = `activity ${running.type} is pending (${running.state.toLowerCase()}, attempt ${running.attempt})`;
  } else if (approval) {
    phase = 'awaiting-approval';
    currentStep = 'approval';
    why = `the approval's deadline timer started ${formatTime(approval.since)} and no valid approval was taken`;
  } else if (lastFailure && !signals.some((s) => s.name === 'retry' && s.eventId > lastFailure!.eventId)) {
    phase = 'waiting-for-operator';
    currentStep = lastFailure.step;
    waiting = { step: lastFailure.step, error: lastFailure.error, since: lastFailure.at };
    const s = stepState(lastFailure.step);
    s.status = 'waiting-for-operator';
    why = `step "${lastFailure.step}" failed its retries at ${formatTime(lastFailure.at)}; no retry signal since`;
  } else if (lastRunning) {
    phase = lastRunning.name === 'plan' ? 'planning' : 'running';
    currentStep = lastRunning.name;
    why = `step "${lastRunning.name}" is scheduled and has not finished`;
  } else {
    phase = 'running';
    currentStep = lastCompleted?.step;
    why = lastCompleted
      ? `the last step completed was "${lastCompleted.step}" at ${formatTime(lastCompleted.at)}; the run decides its next step on its next workflow task`
      : 'no step has started yet';
  }

  return {
    target: input?.target,
    mode,
    plan,
    steps: stepList.map((s) =>
      s.status === 'waiting-for-operator' || !waiting || s.name !== waiting.step
        ? s
        : { ...s, status: 'waiting-for-operator' },
    ),
    phase,
    why,
    currentStep,
    lastCompleted,
    approval,
    waiting,
    signals: signals.map(({ eventId: _e, args: _a, ...s }) => s),
    workflowTaskWaitingSince: ended ? undefined : taskScheduledAt,
    heartbeatTimeoutSeconds: plan?.settings?.heartbeatTimeoutSeconds,
    workersStoppedSince: ended ? undefined : stoppedSince,
    stoppedWithoutStart: stoppedSince,
    resetStarted: steps.has('reset'),
    startCommand: plan?.settings?.startCommand,
  };
}
