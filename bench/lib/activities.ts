/**
 * Our activities, called through their public interface: createActivities(deps) from the worker's
 * targets file, each run in @temporalio/testing's MockActivityEnvironment (a real activity context:
 * heartbeats, cancellation), in this process.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities, type Activities } from '../../src/activities';
import { loadTargetsFile } from '../../src/config/load';

export type OurActivities = Activities;

export function ourActivities(targetsFile: string, env: NodeJS.ProcessEnv): OurActivities {
  return createActivities({ targets: loadTargetsFile(targetsFile, env), env });
}

export async function runActivity<A, R>(fn: (args: A) => Promise<R>, args: A): Promise<R> {
  const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 60_000 }, { logger: new DefaultLogger('WARN') });
  return (await env.run(fn as (a: A) => Promise<R>, args)) as R;
}

/** Seconds taken by fn. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const t = process.hrtime.bigint();
  const value = await fn();
  return { seconds: Number(process.hrtime.bigint() - t) / 1e9, value };
}
