/**
 * Taking and giving back the target's databases (lib/reset-lock.ts): the workflow claims them before
 * its backup, so a second reset of the same database is refused before anything is touched, and
 * gives them back at its end, whatever the ending.
 */
import { Context } from '@temporalio/activity';
import { withKeepalive } from './lib/keepalive';
import { acquireResetLock, releaseResetLock, type LockHolder, type LockOwner } from './lib/reset-lock';
import { resolveTarget, type ActivityDeps } from './lib/target';

export function createLockActivities(deps: ActivityDeps) {
  return {
    async acquireResetLock(args: { target: string; owner: LockOwner }): Promise<LockHolder[]> {
      const t = resolveTarget(deps, args.target);
      const namespace = Context.current().info.namespace;
      return withKeepalive(() => acquireResetLock(t, { ...args.owner, namespace: args.owner.namespace ?? namespace }));
    },
    async releaseResetLock(args: { target: string; owner: Pick<LockOwner, 'runId'> }): Promise<{ released: number }> {
      const t = resolveTarget(deps, args.target);
      return withKeepalive(async () => ({ released: await releaseResetLock(t, args.owner) }));
    },
  };
}
