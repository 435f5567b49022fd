/**
 * What status, follow and a run's ending say about its approvals: who approved (identity, time, plan
 * digest), how many are still needed, and which approvals were not counted and why. Runs before four-eyes
 * and plain one-approval runs show nothing new.
 */
import { describeApprovals, isPlainApproval, policyShown, type Progress, type ResetResult } from '../contract';
import { formatTime } from './format';
import { PLAIN, type Style } from './style';

type Wait = Pick<
  NonNullable<Progress['approval']>,
  'required' | 'approvers' | 'allowSelfApproval' | 'startedBy' | 'approvals' | 'refused'
>;

/** The lines under "WAITING FOR APPROVAL" in status. */
export function approvalWaitLines(a: Wait, workflowId: string, style: Style = PLAIN): string[] {
  if (!a.approvals) return [];
  const policy = policyShown(a);
  const out: string[] = [];
  if (!isPlainApproval(policy))
    out.push(
      `  ${describeApprovals(policy, a.approvals)}`,
      `  reject (ends it, nothing touched): reset-runbook reject ${workflowId} --reason <text>`,
    );
  if (a.startedBy && !policy.allowSelfApproval) out.push(`  started by ${a.startedBy}, who may not approve it`);
  for (const r of a.refused ?? []) out.push(style.yellow(`  not counted (${formatTime(r.at)}): ${r.why}`));
  return out;
}

/** follow's new lines since the last poll: each approval counted or refused, once. */
export function approvalChangeLines(prev: Wait | undefined, now: Wait | undefined, t: string): string[] {
  if (!now?.approvals) return [];
  const policy = policyShown(now);
  // A plain one-approval run says it in its approval step's line, as before four-eyes (a plain restore's transcripts).
  if (isPlainApproval(policy)) return [];
  const out: string[] = [];
  const counted = now.approvals.slice(prev?.approvals?.length ?? 0);
  for (let i = 0; i < counted.length; i++) {
    const upTo = now.approvals.slice(0, now.approvals.length - counted.length + i + 1);
    out.push(`[${t}] approval counted: ${counted[i].identity}; ${describeApprovals(policy, upTo)}`);
  }
  for (const r of (now.refused ?? []).slice(prev?.refused?.length ?? 0))
    out.push(`[${t}] approval NOT counted: ${r.why}`);
  return out;
}

/** The ending's lines: who started the run (a reset or a restore), who approved it, who rejected it. */
export function approvalEndLines(r: Pick<ResetResult, 'startedBy' | 'approvals' | 'rejectedBy'>): string[] {
  const out: string[] = [];
  if (r.approvals?.length) {
    if (r.startedBy) out.push(`  started by: ${r.startedBy}`);
    const who = r.approvals.map((a) => `${a.identity} (${formatTime(a.at)}, plan ${a.planDigest.slice(0, 12)}…)`);
    out.push(`  approved by: ${who.join(', ')}`);
  }
  if (r.rejectedBy)
    out.push(
      `  rejected by: ${r.rejectedBy.identity ?? 'an operator'} at ${formatTime(r.rejectedBy.at)}${r.rejectedBy.reason ? ` (${r.rejectedBy.reason})` : ''}`,
    );
  return out;
}
