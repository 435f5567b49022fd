/**
 * Checking a run's input before anything is touched. The Web UI's form and `temporal workflow start`
 * accept any JSON, so a typo ("mdoe") must fail the run at once with a message that names it.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import { DURATION_RULE, TARGET_NAME, durationToMs, isDuration } from '../config/rules';
import { resetWorkflowId, type Mode, type ResetInput } from '../contract';

export interface CheckedInput {
  target: string;
  mode: Mode;
  requireApproval: boolean;
  confirmation?: string;
  reason?: string;
  approvalTimeout?: string;
  exactCounts?: boolean;
  startedBy?: string;
}

const KNOWN = new Set([
  'target',
  'mode',
  'requireApproval',
  'confirmation',
  'reason',
  'approvalTimeout',
  'exactCounts',
  'startedBy',
]);

export function checkInput(raw: unknown, workflowId: string): CheckedInput {
  const problems: string[] = [];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw bad(['the input must be one JSON object, e.g. {"target": "demo", "mode": "plan"}']);
  }
  const i = raw as Record<string, unknown> & ResetInput;
  for (const k of Object.keys(i))
    if (!KNOWN.has(k)) problems.push(`unknown field "${k}" (known: ${[...KNOWN].join(', ')})`);
  if (typeof i.target !== 'string' || !TARGET_NAME.test(i.target))
    problems.push(
      '"target" must be a target name from the worker\'s targets file (lower-case letters, digits, - and _)',
    );
  if (i.mode !== undefined && i.mode !== 'plan' && i.mode !== 'execute')
    problems.push('"mode" must be "plan" or "execute"');
  if (i.requireApproval !== undefined && typeof i.requireApproval !== 'boolean')
    problems.push('"requireApproval" must be true or false');
  if (i.exactCounts !== undefined && typeof i.exactCounts !== 'boolean')
    problems.push('"exactCounts" must be true or false');
  for (const f of ['confirmation', 'reason', 'startedBy'] as const)
    if (i[f] !== undefined && typeof i[f] !== 'string') problems.push(`"${f}" must be a string`);
  if (i.approvalTimeout !== undefined && !isDuration(i.approvalTimeout))
    problems.push(`"approvalTimeout" must be ${DURATION_RULE}`);
  const mode = i.mode ?? 'plan';
  if (!problems.length && mode === 'execute' && workflowId !== resetWorkflowId(i.target)) {
    // One id per target is what makes the server refuse a second concurrent reset of it.
    problems.push(
      `an execute run must have workflow id "${resetWorkflowId(i.target)}" (got "${workflowId}"), so that two resets of one target can never run at once`,
    );
  }
  if (problems.length) throw bad(problems);
  return {
    target: i.target,
    mode,
    requireApproval: i.requireApproval ?? false,
    confirmation: i.confirmation,
    reason: i.reason,
    approvalTimeout: i.approvalTimeout,
    ...(i.exactCounts !== undefined ? { exactCounts: i.exactCounts } : {}),
    ...(i.startedBy?.trim() ? { startedBy: i.startedBy.trim() } : {}),
  };
}

function bad(problems: string[]) {
  return ApplicationFailure.nonRetryable(`Bad input; nothing was touched: ${problems.join('; ')}`, 'BadInput');
}

export function durationMs(d: string): number {
  const ms = durationToMs(d);
  if (ms === undefined) throw ApplicationFailure.nonRetryable(`Bad duration "${d}"`, 'BadInput');
  return ms;
}
