/**
 * The four-eyes rules of a reset and of a restore alike: the policy a run follows (fourEyesPolicy), and
 * the count of one approval wait (ApprovalBook): which approve signals count (distinct identities allowed
 * by the target's policy) and which do not, with why. Signal handlers only record here; the operator's wait
 * reads the lists, so the order of signals in the history alone decides the outcome.
 */
import { patched } from '@temporalio/workflow';
import {
  approverOf,
  approverProblem,
  policyOf,
  type ApprovalPolicy,
  type ApprovalRecord,
  type ApprovalRefusal,
  type ApproveArgs,
  type RunSettings,
} from '../contract';

/**
 * The policy a run's approval follows: the target's settings and who started the run. Undefined for a run
 * that started before `patchId` (each workflow has its own): it counts one approval from anyone, as it did
 * (docs/versioning.md). A target without self-approval needs to know the starter: the run is refused at
 * once, with `refuse`'s failure, when its input does not say who it is.
 */
export function fourEyesPolicy(
  patchId: 'four-eyes' | 'four-eyes-restore',
  s: Pick<RunSettings, 'approvalsRequired' | 'approvers' | 'allowSelfApproval'>,
  startedBy: string | undefined,
  refuse: (why: string) => Error,
): ApprovalPolicy | undefined {
  if (!patched(patchId)) return undefined;
  const policy = policyOf(s, startedBy);
  if (!policy.allowSelfApproval && !policy.startedBy)
    throw refuse(
      'this target does not allow self-approval (approval.allowSelfApproval is false), so the run must say who starts it: give "startedBy" in the input (reset-runbook start, fleet start and restore do)',
    );
  return policy;
}

export class ApprovalBook {
  readonly counted: ApprovalRecord[] = [];
  readonly refused: ApprovalRefusal[] = [];
  /** The arguments of the last approval counted: what the run goes on with. */
  last?: ApproveArgs;

  constructor(
    readonly policy: ApprovalPolicy,
    private readonly planDigest: string,
  ) {}

  get done(): boolean {
    return this.counted.length >= this.policy.required;
  }

  /** An approve signal whose confirmation matched the plan: counted, or refused with the reason. */
  offer(a: ApproveArgs, at: string): void {
    if (this.done) return;
    const identity = approverOf(a);
    const why = approverProblem(this.policy, this.counted, identity);
    if (why) this.refused.push({ ...(identity ? { identity } : {}), at, why });
    else {
      this.counted.push({ identity: identity ?? 'an operator', at, planDigest: this.planDigest });
      this.last = a;
    }
  }
}
