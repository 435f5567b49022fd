/**
 * Whether an approve signal's arguments approve a plan. The workflow checks it when the signal
 * arrives; the CLI checks it on a history to say why a run will refuse an approval. Pure, so both read
 * this one function rather than the CLI importing workflow code that sets handlers.
 */
import type { Plan } from './plan';
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
