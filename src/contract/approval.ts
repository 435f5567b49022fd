/**
 * Whether an approve signal's arguments approve a plan, and whether its sender may approve under the
 * target's four-eyes rule. The workflow checks both when the signal arrives; the CLI checks them on a
 * history or a progress to say why a run will refuse an approval. Pure, so both read these functions
 * rather than the CLI importing workflow code that sets handlers.
 */
import type { Plan } from './plan';
import type { ApprovalRecord } from './approval-record';
import type { ApproveArgs } from './reset';

export type Approvable = Pick<Plan, 'databaseName' | 'highRisk' | 'digest'>;

export function checkApproval(plan: Approvable, a: ApproveArgs): string | undefined {
  if (!a || typeof a.confirmation !== 'string') return 'the signal needs {"confirmation": "<database name>"}';
  if (a.confirmation !== plan.databaseName)
    return `confirmation "${a.confirmation}" does not match the database name "${plan.databaseName}"`;
  if (a.planDigest !== undefined && a.planDigest !== plan.digest)
    return `planDigest does not match this run's plan (${plan.digest.slice(0, 12)}…); look at the plan again`;
  if (plan.highRisk && a.highRiskConfirmation !== `REBUILD ${plan.databaseName}`) {
    return `this plan rebuilds the schema (high risk): add "highRiskConfirmation": "REBUILD ${plan.databaseName}"`;
  }
  return undefined;
}

/**
 * Who may approve a run and how many must: the target's `approval` (required, approvers,
 * allowSelfApproval) and who started the run. Identities are what the clients assert (the CLI sends
 * `user@host`, TEMPORAL_IDENTITY or --identity): docs/operators/approvals.md says how to make them mean something.
 */
export interface ApprovalPolicy {
  /** Distinct valid approvals the run needs before it goes on. */
  required: number;
  /** When set, only these identities may approve. */
  approvers?: string[];
  /** Whether the identity that started the run may approve it (counts towards `required`). */
  allowSelfApproval: boolean;
  /** The identity that started the run, as its input says (absent: not recorded). */
  startedBy?: string;
}

/** The identity an approve signal asserts: `identity`, else `by` (senders before identities existed). */
export function approverOf(a: Pick<ApproveArgs, 'identity' | 'by'> | undefined): string | undefined {
  const id = a?.identity ?? a?.by;
  return typeof id === 'string' && id.trim() !== '' ? id.trim() : undefined;
}

/** Why an identity's approval does not count under the policy, given those already counted. */
export function approverProblem(
  policy: ApprovalPolicy,
  counted: readonly ApprovalRecord[],
  identity: string | undefined,
): string | undefined {
  if (identity === undefined && (policy.approvers?.length || !policy.allowSelfApproval || policy.required > 1))
    return 'the signal carries no identity; this target counts approvals by identity (send "identity")';
  const id = identity ?? 'an operator';
  if (!policy.allowSelfApproval && policy.startedBy !== undefined && id === policy.startedBy)
    return `${id} started this run and may not approve it (approval.allowSelfApproval is false): another person must approve`;
  if (policy.approvers?.length && !policy.approvers.includes(id))
    return `${id} is not one of this target's approvers (${policy.approvers.join(', ')})`;
  if (counted.some((c) => c.identity === id)) return `${id} has already approved this run; it counts once`;
  return undefined;
}

/** "needs 1 more (from: alice@ops, carol@ops)": what an approval wait still lacks, in one clause. */
export function approvalsNeeded(policy: ApprovalPolicy, counted: readonly ApprovalRecord[]): string {
  const more = Math.max(0, policy.required - counted.length);
  if (more === 0) return 'approved';
  const left = policy.approvers?.filter((a) => a !== policy.startedBy || policy.allowSelfApproval);
  const from = left?.filter((a) => !counted.some((c) => c.identity === a));
  return `needs ${more} more approval${more === 1 ? '' : 's'}${from?.length ? ` (from: ${from.join(', ')})` : ''}${!policy.allowSelfApproval && policy.startedBy ? `, not from ${policy.startedBy} (started the run)` : ''}`;
}

/** "1 of 2 approvals: alice@ops (10:02:11Z); needs 1 more …": the line status, follow and the Web UI show. */
export function describeApprovals(policy: ApprovalPolicy, counted: readonly ApprovalRecord[]): string {
  const who = counted.map((c) => `${c.identity} (${c.at.slice(11, 19)}Z)`).join(', ');
  const n = `${counted.length} of ${policy.required} approval${policy.required === 1 ? '' : 's'}`;
  const rest = approvalsNeeded(policy, counted);
  return `${n}${who ? `: ${who}` : ''}${rest === 'approved' ? '' : `; ${rest}`}`;
}

/** The policy a progress's approval wait shows (fields absent in runs from before four-eyes: one approval, anyone). */
export function policyShown(a: {
  required?: number;
  approvers?: string[];
  allowSelfApproval?: boolean;
  startedBy?: string;
}): ApprovalPolicy {
  return {
    required: a.required ?? 1,
    ...(a.approvers ? { approvers: a.approvers } : {}),
    allowSelfApproval: a.allowSelfApproval ?? true,
    ...(a.startedBy ? { startedBy: a.startedBy } : {}),
  };
}

/** The policy of a run: the target's settings from its plan and the starter from its input. */
export function policyOf(
  s: { approvalsRequired?: number; approvers?: string[]; allowSelfApproval?: boolean },
  startedBy: string | undefined,
): ApprovalPolicy {
  return policyShown({
    required: Math.max(1, s.approvalsRequired ?? 1),
    approvers: s.approvers?.length ? s.approvers : undefined,
    allowSelfApproval: s.allowSelfApproval,
    startedBy,
  });
}

/** One approval from anyone: the rule before four-eyes, shown in the words runs used then. */
export function isPlainApproval(p: ApprovalPolicy): boolean {
  return p.required === 1 && p.allowSelfApproval && !p.approvers?.length;
}
