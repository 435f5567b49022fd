/**
 * Telling people: a run that waits for an operator, leaves the workers stopped, completes or fails
 * posts a message to the target's webhooks. The workflow only composes the message (no secrets: it
 * never sees the URLs); the `sendNotification` activity posts it. A notification that cannot be
 * delivered is logged and the run goes on: telling is never worth failing a reset for.
 */
import { CancellationScope, log, proxyActivities, rootCause, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  describeApprovals,
  isPlainApproval,
  policyShown,
  STEP_TITLES,
  type NotifyEvent,
  type NotifyMessage,
  type Progress,
  type ResetResult,
  type StepName,
} from '../contract';

/** Short and few: a dead receiver should cost a run seconds, not minutes. */
const { sendNotification } = proxyActivities<Pick<Activities, 'sendNotification'>>({
  summary: 'Notify',
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 4 },
});

/**
 * Posts `event` when the target has webhooks (plan.settings.notifications); resolves in every case.
 * Runs even in a cancelled run (the ending of a cancelled run is news too).
 */
export async function notify(event: NotifyEvent, progress: Progress, result?: ResetResult): Promise<void> {
  if (!progress.plan?.settings.notifications) return;
  const { workflowId, runId } = workflowInfo();
  const message = notifyMessage(event, progress, result, { workflowId, runId });
  try {
    await CancellationScope.nonCancellable(() => sendNotification(message));
  } catch (err) {
    log.warn('Notification not delivered after its retries; the run goes on', { event, error: rootCause(err) });
  }
}

export function notifyMessage(
  event: NotifyEvent,
  p: Progress,
  result: ResetResult | undefined,
  ids: { workflowId: string; runId: string },
): NotifyMessage {
  const step = event === 'waitingForApproval' || event === 'approvalReceived' ? 'approval' : stepConcerned(p);
  const stepTitle = step ? `"${STEP_TITLES[step]}"` : '';
  const db = p.plan?.databaseName;
  const run = `Reset of "${p.target}"${db ? ` (database ${db})` : ''}`;
  const cmd = (verb: string) => `reset-runbook ${verb} ${ids.workflowId}`;
  let text: string;
  switch (event) {
    case 'waitingForApproval': {
      const truncate = p.plan?.tables.filter((t) => t.action === 'truncate') ?? [];
      const rows = truncate.reduce((a, t) => a + t.rows, 0);
      text =
        `:hourglass: ${run} waits for approval${p.approval ? ` until ${p.approval.deadline}` : ''}: ` +
        `${truncate.length} tables to truncate (${rows} rows), ${p.plan?.objectsToDelete.count ?? 0} objects to delete` +
        `${p.plan?.warnings.length ? `, ${p.plan.warnings.length} warning(s)` : ''}. ${approvalsLine(p)}Read the plan and approve: ${cmd('approve')}`;
      break;
    }
    case 'approvalReceived':
      text = `:ballot_box_with_check: ${run}: ${approvalsLine(p)}Read the plan and approve: ${cmd('approve')}, or reject it: ${cmd('reject')}`;
      break;
    case 'rejected':
      text = `:no_entry: ${run} ${clause(result?.message ?? 'was rejected')}. ${workersLine(p)}`;
      break;
    case 'waitingForOperator':
      text = `:warning: ${run}: step ${stepTitle} failed after its retries: ${clause(p.waiting?.error ?? 'see the run')}. ${workersLine(p)} It waits for an operator: ${cmd('resume')} to retry, ${cmd('abort')} to end it.`;
      break;
    case 'workersStillStopped': {
      const w = p.workers;
      const start = w?.startCommand ?? p.plan?.settings.startCommand ?? "the target's start command";
      text = `:rotating_light: WORKERS ARE STILL STOPPED${w?.stoppedSince ? ` since ${w.stoppedSince}` : ''} — start them by hand: ${start}. ${run} could not start them again${w?.restart?.lastError ? `: ${clause(w.restart.lastError)}` : ''}.`;
      break;
    }
    case 'completed':
      text = `:white_check_mark: ${run} completed${result?.verify ? `: ${result.verify.report.replace(/\n/g, ', ')}` : ''}${result?.objectsDeleted ? `; ${result.objectsDeleted.count} objects deleted` : ''}. ${workersLine(p)}`;
      break;
    case 'aborted':
      text = `:octagonal_sign: ${run} ended: ${clause(result?.message ?? 'aborted')}${step ? ` (at step ${stepTitle})` : ''}. ${workersLine(p)}`;
      break;
    case 'failed':
      text = `:x: ${run} ${p.phase === 'cancelled' ? 'was cancelled' : 'failed'}${step ? ` at step ${stepTitle}` : ''}: ${clause(result?.message ?? 'see the run')}. ${workersLine(p)}`;
      break;
  }
  return {
    event,
    target: p.target,
    runId: ids.runId,
    workflowId: ids.workflowId,
    outcome: result?.outcome ?? null,
    step: step ?? null,
    text: slackEscape(text),
  };
}

/** Who approved so far and how many are still needed, for a run that counts approvals ("" otherwise). */
function approvalsLine(p: Progress): string {
  const a = p.approval;
  if (!a?.required || !a.approvals || isPlainApproval(policyShown(a))) return '';
  return `${describeApprovals(policyShown(a), a.approvals)}. `;
}

/**
 * The step a message is about: the one waited on, else the last one still running or failed (the approval is not a
 * "current step").
 */
function stepConcerned(p: Progress): StepName | undefined {
  if (p.waiting) return p.waiting.step;
  const open = p.steps.filter(
    (s) => s.status === 'running' || s.status === 'failed' || s.status === 'waiting-for-operator',
  );
  return open.length ? open[open.length - 1].name : p.currentStep;
}

/** Whether the workers run, as far as this run knows: the first thing an operator asks. */
function workersLine(p: Progress): string {
  const status = p.workers?.status;
  if (status === 'left-stopped') return 'Workers: left stopped, as they were before the reset.';
  if (status === 'still-stopped') return 'WORKERS ARE STILL STOPPED.';
  if (status === 'stopped' || status === 'restarting') return 'Workers: stopped by this run.';
  const stopStep = p.steps.find((s) => s.name === 'stopWorkers');
  if (status === 'running' || (stopStep && stopStep.attempts > 0)) return 'Workers: started again.';
  return p.plan?.settings.workersConfigured ? 'Workers: not touched.' : 'Workers: not managed by this target.';
}

/** A message quoted inside a sentence: without its own closing full stop. */
function clause(s: string): string {
  return s.replace(/[.\s]+$/, '');
}

/** Slack reads <…> as links and &… as entities; these three must be escaped in `text`. */
function slackEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
