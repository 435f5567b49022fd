/**
 * What a run records of each approval it counted or refused: apart from approval.ts, so the reset's
 * contract (reset.ts) can name them without an import circle.
 */

/** One approval the run counted: who, when, and the plan it approved. */
export interface ApprovalRecord {
  identity: string;
  at: string;
  planDigest: string;
}

/** One approval the run did not count, and why (shown in status, follow and the Web UI). */
export interface ApprovalRefusal {
  identity?: string;
  at: string;
  why: string;
}
