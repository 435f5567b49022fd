/**
 * Taking and giving back the target's databases (lib/reset-lock.ts): the workflow claims them before
 * its backup, so a second reset of the same database is refused before anything is touched, and
 * gives them back at its end, whatever the ending.
 *
 * A run terminated from the Web UI (Terminate skips all workflow code) never gives its claim back.
 * Such a claim is stale once Temporal says its run is closed: it is cleared here, so that the restore
 * that undoes that run, or the next reset, is not refused by a run that can no longer do anything.
 * (Its last activity, if still running, holds the advisory lock, which every destructive step waits for.)
 */
import { Context, log } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { withKeepalive } from './lib/keepalive';
import { acquireResetLock, releaseResetLock, type LockHolder, type LockOwner } from './lib/reset-lock';
import { resolveTarget, type ActivityDeps } from './lib/target';

export function createLockActivities(deps: ActivityDeps) {
  return {
    async acquireResetLock(args: { target: string; owner: LockOwner }): Promise<LockHolder[]> {
      const t = resolveTarget(deps, args.target);
      const namespace = Context.current().info.namespace;
      const owner = { ...args.owner, namespace: args.owner.namespace ?? namespace };
      return withKeepalive(() => acquireResetLock(t, owner, (h) => claimOfClosedRun(h, owner)));
    },
    async releaseResetLock(args: { target: string; owner: Pick<LockOwner, 'runId'> }): Promise<{ released: number }> {
      const t = resolveTarget(deps, args.target);
      return withKeepalive(async () => ({ released: await releaseResetLock(t, args.owner) }));
    },
  };
}

/**
 * Whether another run's claim was left by a run Temporal says is over, which may be cleared (logged when so).
 * Never for our own workflow id (acquire takes it over), another namespace's run (not ours to judge), or a
 * run whose state cannot be read.
 */
async function claimOfClosedRun(h: LockHolder, owner: LockOwner): Promise<boolean> {
  let client;
  try {
    client = Context.current().client;
  } catch {
    return false; // no Temporal client (a unit test's mock environment): nothing to ask
  }
  if (h.workflowId === owner.workflowId) return false;
  if (h.namespace && h.namespace !== owner.namespace) return false;
  const status = await client.workflow
    .getHandle(h.workflowId, h.runId, { followRuns: false })
    .describe()
    .then((d) => d.status.name)
    .catch((err) => (err instanceof WorkflowNotFoundError ? 'NOT_FOUND' : 'UNKNOWN'));
  if (status === 'RUNNING' || status === 'UNKNOWN') return false;
  log.warn('Clearing the claim of a closed run (it ended without giving the database back, e.g. terminated)', {
    database: h.database,
    workflowId: h.workflowId,
    runId: h.runId,
    status,
  });
  return true;
}
