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
import { acquireResetLock, lockHolders, releaseResetLock, type LockHolder, type LockOwner } from './lib/reset-lock';
import { resolveTarget, type ActivityDeps, type ResolvedTarget } from './lib/target';

export function createLockActivities(deps: ActivityDeps) {
  return {
    async acquireResetLock(args: { target: string; owner: LockOwner }): Promise<LockHolder[]> {
      const t = resolveTarget(deps, args.target);
      const namespace = Context.current().info.namespace;
      const owner = { ...args.owner, namespace: args.owner.namespace ?? namespace };
      return withKeepalive(async () => {
        await clearClaimsOfClosedRuns(t, owner);
        return acquireResetLock(t, owner);
      });
    },
    async releaseResetLock(args: { target: string; owner: Pick<LockOwner, 'runId'> }): Promise<{ released: number }> {
      const t = resolveTarget(deps, args.target);
      return withKeepalive(async () => ({ released: await releaseResetLock(t, args.owner) }));
    },
  };
}

async function clearClaimsOfClosedRuns(t: ResolvedTarget, owner: LockOwner): Promise<void> {
  let client;
  try {
    client = Context.current().client;
  } catch {
    return; // no Temporal client (a unit test's mock environment): nothing to ask
  }
  for (const h of await lockHolders(t)) {
    if (h.workflowId === owner.workflowId) continue; // our own id: acquire takes it over
    if (h.namespace && h.namespace !== owner.namespace) continue; // another namespace: not ours to judge
    const status = await client.workflow
      .getHandle(h.workflowId, h.runId, { followRuns: false })
      .describe()
      .then((d) => d.status.name)
      .catch((err) => (err instanceof WorkflowNotFoundError ? 'NOT_FOUND' : 'UNKNOWN'));
    if (status === 'RUNNING' || status === 'UNKNOWN') continue;
    await releaseResetLock(t, { runId: h.runId });
    log.warn('Cleared the claim of a closed run (it ended without giving the database back, e.g. terminated)', {
      database: h.database,
      workflowId: h.workflowId,
      runId: h.runId,
      status,
    });
  }
}
