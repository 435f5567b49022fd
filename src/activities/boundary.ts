/**
 * What every activity passes through on its way out, and the lock its destructive steps run under.
 *
 * - Redaction (lib/secrets.ts): results, thrown errors (message, stack, details) — and so the history,
 *   the worker's log of a failed activity and every CLI view — never show a secret value the worker
 *   holds. Done once here rather than in each activity, so a new activity or a new error path cannot
 *   forget it.
 * - The reset lock (lib/reset-lock.ts): a destructive step called with `lock` (the run that claimed the
 *   database, a reset or a restore) runs holding the database's advisory lock, after checking the claim
 *   still names that run.
 * - Metrics (lib/metrics.ts): what a step did (rows truncated, objects purged, backup size), from its result.
 */
import { Context } from '@temporalio/activity';
import { DESTRUCTIVE_ACTIVITIES } from '../contract';
import { recordActivityMetrics } from './lib/metrics';
import { redactError, type Redactor } from './lib/secrets';
import { withResetLock, type LockOwner } from './lib/reset-lock';
import { resolveTarget, type ActivityDeps } from './lib/target';

/** Every activity takes one argument object; a destructive one may also carry the run's lock. */
type Fn = (args: any) => Promise<unknown>;
export type AtBoundary<T extends Record<string, Fn>> = {
  [K in keyof T]: (args: Parameters<T[K]>[0] & { lock?: LockOwner }) => ReturnType<T[K]>;
};

export function atBoundary<T extends Record<string, Fn>>(
  activities: T,
  deps: ActivityDeps,
  r: Redactor,
): AtBoundary<T> {
  const out: Record<string, Fn> = {};
  for (const [name, fn] of Object.entries(activities)) {
    // The steps that change the database, its workers or its objects: the contract's step list says which.
    const destructive = DESTRUCTIVE_ACTIVITIES.includes(name);
    out[name] = async (args: { target?: string; lock?: LockOwner } | undefined) => {
      const startedMs = Date.now();
      try {
        const { lock, ...rest } = args ?? {};
        const call = () => fn(lock ? rest : args);
        const result =
          destructive && lock && args?.target
            ? await withResetLock(
                resolveTarget(deps, args.target),
                { ...lock, namespace: lock.namespace ?? namespaceOf() },
                call,
              )
            : await call();
        recordActivityMetrics(deps, name, args?.target, result, startedMs);
        return r.value(result);
      } catch (err) {
        throw redactError(err, r);
      }
    };
  }
  return out as AtBoundary<T>;
}

function namespaceOf(): string | undefined {
  try {
    return Context.current().info.namespace;
  } catch {
    return undefined;
  }
}
