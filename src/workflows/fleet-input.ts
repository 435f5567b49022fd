/**
 * Checking a fleet's input before anything is touched: the Web UI's form and `temporal workflow
 * start` accept any JSON, and a schedule replays the same input every day, so every problem is
 * named at once and the run fails without planning anything.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import { DURATION_RULE, TARGET_NAME, TARGET_NAME_RULE, isDuration } from '../config/rules';
import { fleetWorkflowId, type FleetInput, type Share } from '../contract';
import { SHARE_RULE, isShare } from './fleet-limits';

export type CheckedFleetInput = FleetInput & {
  mode: 'plan' | 'execute';
  unattended: boolean;
  onChildPause: 'wait' | 'abort';
};

const KNOWN = new Set([
  'name',
  'targets',
  'group',
  'mode',
  'maxConcurrent',
  'maxFailures',
  'batches',
  'confirmation',
  'databases',
  'reason',
  'approvalTimeout',
  'unattended',
  'onChildPause',
  'schedule',
  'startedBy',
]);

export function checkFleetInput(raw: unknown, workflowId: string): CheckedFleetInput {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw bad(['the input must be one JSON object, e.g. {"name": "staging", "group": "staging", "mode": "plan"}']);
  }
  const i = raw as Record<string, unknown> & FleetInput;
  const problems: string[] = [];
  for (const k of Object.keys(i))
    if (!KNOWN.has(k)) problems.push(`unknown field "${k}" (known: ${[...KNOWN].join(', ')})`);
  if (typeof i.name !== 'string' || !TARGET_NAME.test(i.name))
    problems.push(`"name" (the fleet's name) must be ${TARGET_NAME_RULE}`);
  if ((i.targets === undefined) === (i.group === undefined))
    problems.push('give "targets" (a list of target names) or "group" (a group of the targets file), not both');
  if (i.targets !== undefined) {
    if (
      !Array.isArray(i.targets) ||
      i.targets.length === 0 ||
      i.targets.some((t) => typeof t !== 'string' || !TARGET_NAME.test(t))
    ) {
      problems.push(`"targets" must be a non-empty list of target names (${TARGET_NAME_RULE})`);
    } else {
      const twice = i.targets.filter((t, n) => i.targets!.indexOf(t) !== n);
      if (twice.length)
        problems.push(`"targets" names ${[...new Set(twice)].map((t) => `"${t}"`).join(', ')} more than once`);
    }
  }
  if (i.group !== undefined && (typeof i.group !== 'string' || !TARGET_NAME.test(i.group)))
    problems.push(`"group" must be a group name (${TARGET_NAME_RULE})`);
  if (i.mode !== undefined && i.mode !== 'plan' && i.mode !== 'execute')
    problems.push('"mode" must be "plan" or "execute"');
  for (const f of ['maxConcurrent', 'maxFailures'] as const)
    if (i[f] !== undefined && !isShare(i[f])) problems.push(`"${f}" must be ${SHARE_RULE}`);
  if (i.maxConcurrent !== undefined && isShare(i.maxConcurrent) && (i.maxConcurrent === 0 || i.maxConcurrent === '0%'))
    problems.push('"maxConcurrent" must allow at least one child');
  if (
    i.batches !== undefined &&
    (!Array.isArray(i.batches) || i.batches.length === 0 || !i.batches.every((b: Share) => isShare(b) && b !== 0))
  ) {
    problems.push(`"batches" must be a non-empty list of sizes, each ${SHARE_RULE} and not 0, e.g. [1, "25%", "100%"]`);
  }
  for (const f of ['confirmation', 'reason', 'schedule', 'startedBy'] as const)
    if (i[f] !== undefined && typeof i[f] !== 'string') problems.push(`"${f}" must be a string`);
  if (i.databases !== undefined && !(Number.isInteger(i.databases) && i.databases > 0))
    problems.push('"databases" must be a whole number > 0');
  if (i.approvalTimeout !== undefined && !isDuration(i.approvalTimeout))
    problems.push(`"approvalTimeout" must be ${DURATION_RULE}`);
  if (i.unattended !== undefined && typeof i.unattended !== 'boolean')
    problems.push('"unattended" must be true or false');
  if (i.onChildPause !== undefined && i.onChildPause !== 'wait' && i.onChildPause !== 'abort')
    problems.push('"onChildPause" must be "wait" or "abort"');
  if (i.unattended && i.onChildPause === 'wait')
    problems.push('an unattended run cannot wait for a person: "onChildPause" must be "abort" (or left out)');
  const mode = i.mode ?? 'plan';
  const unattended = i.unattended ?? false;
  if (!problems.length && mode === 'execute' && !unattended && workflowId !== fleetWorkflowId(i.name)) {
    // One id per fleet name: the server then refuses a second fleet of the same name while one runs.
    problems.push(`a fleet run must have workflow id "${fleetWorkflowId(i.name)}" (got "${workflowId}")`);
  }
  if (problems.length) throw bad(problems);
  const { startedBy, ...rest } = i;
  return {
    ...rest,
    mode,
    unattended,
    onChildPause: i.onChildPause ?? (unattended ? 'abort' : 'wait'),
    // A blank starter is no starter: the child then refuses a target without self-approval, as a reset would.
    ...(startedBy?.trim() ? { startedBy: startedBy.trim() } : {}),
  };
}

function bad(problems: string[]) {
  return ApplicationFailure.nonRetryable(`Bad fleet input; nothing was touched: ${problems.join('; ')}`, 'BadInput');
}
