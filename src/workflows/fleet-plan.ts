/**
 * A fleet's plan: every target planned (read-only, a few at a time, on whichever worker is free),
 * each reduced to the line its approval shows. The children plan again when they start; this one is
 * what a person approves and what an unattended run is refused on.
 */
import { isCancellation, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { type Plan, ownApprovalReason, type FleetTargetPlan } from '../contract';
import { planActivities } from './activities';
import { messageOf } from './steps';

/**
 * Plans read the databases: a few at a time is enough to keep a large fleet's plan short without crowding a small
 * server.
 */
const PLANS_AT_ONCE = 4;

export function fleetActivities() {
  return proxyActivities<Pick<Activities, 'fleetTargets'>>({
    summary: 'Fleet targets',
    startToCloseTimeout: '60s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 5 },
  });
}

export function summarizePlan(p: Plan): FleetTargetPlan {
  const truncate = p.tables.filter((t) => t.action === 'truncate');
  const ownApproval = ownApprovalReason(p);
  return {
    databaseName: p.databaseName,
    ...(p.environment !== undefined ? { environment: p.environment } : {}),
    databases: Math.max(1, new Set(p.tables.map((t) => t.database)).size),
    tablesToTruncate: truncate.length,
    rowsToTruncate: truncate.reduce((a, t) => a + t.rows, 0),
    objectsToDelete: p.objectsToDelete.count,
    ...(ownApproval ? { ownApproval } : {}),
    ...(p.undo ? { undo: p.undo.summary } : {}),
    warnings: p.warnings,
    errors: p.errors,
  };
}

/**
 * Plans every target; a plan that cannot be made at all becomes that target's error. `notifications`: the targets with
 * webhooks.
 */
export async function planTargets(
  targets: string[],
  onPlanned: (target: string, plan: FleetTargetPlan) => void,
): Promise<{ notifications: Set<string> }> {
  const notifications = new Set<string>();
  let next = 0;
  const lane = async () => {
    while (next < targets.length) {
      const target = targets[next++];
      try {
        const plan = await planActivities().planReset({ target });
        if (plan.settings.notifications) notifications.add(target);
        onPlanned(target, summarizePlan(plan));
      } catch (err) {
        if (isCancellation(err)) throw err;
        onPlanned(target, {
          databaseName: '',
          databases: 0,
          tablesToTruncate: 0,
          rowsToTruncate: 0,
          objectsToDelete: 0,
          warnings: [],
          errors: [`the plan failed: ${messageOf(err)}`],
        });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PLANS_AT_ONCE, targets.length) }, lane));
  return { notifications };
}
