/**
 * A target's `approval` section: whether a person must approve a run, how many distinct people, who
 * may, whether the person who started the run counts, and how long the run waits. `required` is still
 * true/false as before four-eyes (true = one approval always); a number asks for that many.
 */
import { z } from 'zod';
import { DEFAULTS } from './defaults';
import { bool, duration, obj } from './schema-parts';

const required = z
  .union([z.boolean(), z.number().int().min(0).max(10)], {
    error: 'expected true, false or a whole number of approvals from 0 to 10',
  })
  .describe(
    'How many distinct people must approve a run: a number (2 = four eyes), or true (one, always) / false (one where the run asks: production, a rebuild, no confirmation typed in advance). 0 is false.',
  );

export const approval = obj(
  {
    required: required.default(DEFAULTS.approval.required),
    approvers: z
      .array(z.string().trim().min(1, { error: 'expected a non-empty identity' }), {
        error: 'expected a list of identities, e.g. ["alice@ops-laptop", "bob@ops-laptop"]',
      })
      .describe(
        'The identities that may approve, as the approving client sends them (the CLI: TEMPORAL_IDENTITY, --identity, else user@host). Left out: anyone who can signal the run. An identity is what the client asserts: see docs/operators/approvals.md.',
      )
      .optional(),
    allowSelfApproval: bool(
      "Whether the identity that started the run may approve it. false: the starter's approval is refused and does not count (four eyes). Default true, as before this setting existed.",
    ).default(true),
    timeout: duration('How long a run waits for approval.').default(DEFAULTS.approval.timeout),
  },
  'expected an object',
)
  .refine((a) => !a.approvers || typeof a.required !== 'number' || a.approvers.length >= a.required, {
    error: 'approvers lists fewer identities than required approvals: no run could ever be approved',
  })
  .describe('Who must approve a run, how many, and how long it waits for them (docs/operators/approvals.md).')
  .prefault({});

/** How many approvals the target's `required` asks for where the run asks at all (at least one). */
export function approvalsRequired(r: boolean | number): number {
  return typeof r === 'number' ? Math.max(1, r) : 1;
}

/** Whether `required` makes every run wait for approval (a count of 1 or more, or true). */
export function alwaysApprove(r: boolean | number): boolean {
  return typeof r === 'number' ? r > 0 : r;
}
