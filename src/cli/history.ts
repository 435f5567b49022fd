/**
 * What a run's history proves when no worker answers the progress query: the steps started,
 * done and failed (activity events), the signals received and whether the run has seen them yet,
 * the approval wait (its timer), and the plan's settings (the planReset activity's result).
 * Only facts written in the history; where it cannot tell, it says so (never a guess).
 */
import { STEP_TITLES, type Mode, type StepName, checkApproval } from '../contract';
import { formatTime } from './format';
import { type Event, readEvents, stepOf, stepState } from './history-events';
import type { HistoryPhase, HistoryState } from './history-state';
import type { ActivityView } from './snapshot-model';

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
const START_FIRST: StepName[] = [...ORDER.slice(0, 5), 'startWorkers', 'purgeStorage', 'verify'];

/** The run's state as its history shows it. `pending` are the server's pending activities (describe). */
export function deriveFromHistory(events: Event[], pending: ActivityView[] = []): HistoryState {
  const facts = readEvents(events);
  const { input, plan, steps, signals, taskScheduledAt, lastFailure, lastCompleted, approvalTimer } = facts;
  const { compensating, ended, endedAt, stoppedSince } = facts;

  // Approval: from the timer to its approve signal (checked as the run checks it), abort or deadline.
  let approval: HistoryState['approval'];
  if (approvalTimer) {
    const ap = stepState(steps, 'approval');
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
  // workers.startBeforePurge: the run takes step 5 before step 4, and lists it so.
  const order = plan?.settings?.startWorkersBeforePurge ? START_FIRST : ORDER;
  const names = mode === 'plan' ? order.slice(0, 1) : order;
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
    const s = stepState(steps, lastFailure.step);
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
