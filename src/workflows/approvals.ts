/**
 * The four-eyes count of one approval wait: which approve signals count (distinct identities allowed by
 * the target's policy) and which do not, with why. Signal handlers only record here; the operator's wait
 * reads the lists, so the order of signals in the history alone decides the outcome.
 */
import {
  approverOf,
  approverProblem,
  type ApprovalPolicy,
  type ApprovalRecord,
  type ApprovalRefusal,
  type ApproveArgs,
} from '../contract';

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
