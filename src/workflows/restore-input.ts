/** Checking a restore's input before anything is touched (the Web UI and `temporal` accept any JSON). */
import { ApplicationFailure } from '@temporalio/workflow';
import { restoreWorkflowId, type RestoreInput } from '../contract';
import { DURATION_RULE, TARGET_NAME, isDuration } from '../config/rules';

const KNOWN = new Set([
  'target',
  'resetRunId',
  'backupPath',
  'confirmation',
  'approvalTimeout',
  'discardNewerRows',
  'startedBy',
]);

export function checkRestoreInput(raw: unknown, workflowId: string): RestoreInput {
  const problems: string[] = [];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw bad(['the input must be one JSON object, e.g. {"target": "demo"}']);
  const i = raw as Record<string, unknown> & RestoreInput;
  for (const k of Object.keys(i))
    if (!KNOWN.has(k)) problems.push(`unknown field "${k}" (known: ${[...KNOWN].join(', ')})`);
  if (typeof i.target !== 'string' || !TARGET_NAME.test(i.target))
    problems.push('"target" must be a target name from the worker\'s targets file');
  for (const f of ['resetRunId', 'backupPath', 'confirmation'] as const)
    if (i[f] !== undefined && (typeof i[f] !== 'string' || i[f] === ''))
      problems.push(`"${f}" must be a non-empty string`);
  if (i.startedBy !== undefined && typeof i.startedBy !== 'string') problems.push('"startedBy" must be a string');
  if (i.discardNewerRows !== undefined && typeof i.discardNewerRows !== 'boolean')
    problems.push('"discardNewerRows" must be true or false');
  if (i.approvalTimeout !== undefined && !isDuration(i.approvalTimeout))
    problems.push(`"approvalTimeout" must be ${DURATION_RULE}`);
  if (!problems.length && workflowId !== restoreWorkflowId(i.target)) {
    problems.push(
      `a restore must have workflow id "${restoreWorkflowId(i.target)}" (got "${workflowId}"), so that two restores of one target can never run at once`,
    );
  }
  if (problems.length) throw bad(problems);
  const input: RestoreInput = {
    target: i.target,
    resetRunId: i.resetRunId,
    backupPath: i.backupPath,
    confirmation: i.confirmation,
    approvalTimeout: i.approvalTimeout,
  };
  if (i.discardNewerRows) input.discardNewerRows = true;
  // A blank starter is no starter: a target without self-approval then refuses the restore, as a reset.
  if (i.startedBy?.trim()) input.startedBy = i.startedBy.trim();
  return input;
}

function bad(problems: string[]) {
  return ApplicationFailure.nonRetryable(`Bad input; nothing was touched: ${problems.join('; ')}`, 'BadInput');
}
