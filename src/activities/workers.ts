/**
 * Steps 2 and 5 — stop and start the Solid Queue workers. The target's own commands do the work
 * (`systemctl stop solid_queue`, possibly over ssh); Solid Queue's tables are the proof: a command
 * that exits 0 proves nothing until the heartbeats stop, or come back. The polls wait with the SDK's
 * Context.sleep, which a cancellation ends at once (withKeepalive then reports the cancellation).
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { crashPoint } from './lib/faults';
import { withKeepalive } from './lib/keepalive';
import { withClient } from './lib/postgres';
import { describeFailure } from './lib/shell';
import { queueState } from './lib/solid-queue';
import { targetCommandEnv } from './lib/child-env';
import { databaseByName, resolveTarget, type ActivityDeps, type ResolvedTarget } from './lib/target';

/**
 * Between two reads of the process table while the workers stop or start: one cheap query. A stop or start command
 * that returns before Solid Queue has (de)registered (systemctl does) costs the workers half of it on average.
 */
const POLL_MS = 250;

export interface WorkersStopped {
  staleProcessRows: number;
  claimedByDeadProcesses: number;
}
export interface WorkersStarted {
  alive: number;
}

export function createWorkerActivities(deps: ActivityDeps) {
  return {
    async stopWorkers(args: { target: string }): Promise<WorkersStopped> {
      const t = resolveTarget(deps, args.target);
      const w = workersOf(t);
      const timeoutMs = w.stopTimeoutSeconds * 1000;
      const deadline = t.now() + timeoutMs;
      return withKeepalive(async (beat) => {
        // Settles once the command has ended: rejected when it failed.
        const stopped = t
          .run(w.stop, { cwd: w.cwd, env: commandEnv(t), timeoutMs, redact: t.databases.map((d) => d.url) })
          .then((r) => {
            if (r.code !== 0) throw new Error(describeFailure(`Stop command "${w.stop}"`, r));
          });
        stopped.catch(() => undefined); // awaited below, whatever happens to the session
        // The session that reads the process table opens while the command runs (a connection costs a few
        // milliseconds the workers would otherwise spend stopped); nothing is read before the command ends,
        // and a failure to connect is reported only once the command has ended too.
        const session = withClient(databaseByName(t, w.database), async (c) => {
          await stopped;
          for (;;) {
            const q = await queueState(c, w.heartbeatThresholdSeconds);
            beat({ unit: 'processes', done: q.alive });
            // Claims of dead processes cannot finish; the truncation clears them. Live claims must end first.
            if (q.alive === 0 && q.claimedByLive === 0) {
              crashPoint('stopWorkers.done');
              return { staleProcessRows: q.stale, claimedByDeadProcesses: q.claimedTotal };
            }
            if (t.now() > deadline) {
              throw new Error(
                `Workers still alive ${Math.round(timeoutMs / 1000)}s after "${w.stop}": ${q.alive} process(es) heartbeating, ${q.claimedByLive} claimed job(s). Check the service on its host, then retry.`,
              );
            }
            await Context.current().sleep(POLL_MS);
          }
        });
        return session.catch(async (err) => {
          await stopped; // the command's own failure is the news, as when it ran first
          throw err;
        });
      });
    },

    async startWorkers(args: { target: string }): Promise<WorkersStarted> {
      const t = resolveTarget(deps, args.target);
      const w = workersOf(t);
      const timeoutMs = w.startTimeoutSeconds * 1000;
      const deadline = t.now() + timeoutMs;
      return withKeepalive(async (beat) =>
        withClient(databaseByName(t, w.database), async (c) => {
          const since = (await queueState(c, 1)).now;
          const r = await t.run(w.start, {
            cwd: w.cwd,
            env: commandEnv(t),
            timeoutMs,
            redact: t.databases.map((d) => d.url),
          });
          if (r.code !== 0) throw new Error(describeFailure(`Start command "${w.start}"`, r));
          const status = () => t.run(w.status!, { cwd: w.cwd, env: commandEnv(t), timeoutMs: 30_000 });
          // The status command runs beside the first read of the process table: most starts are done by
          // then, and the two waits overlap. One that failed then (a service may say "activating" until its
          // processes are up) is asked again once a heartbeat is seen.
          const early = w.status ? status() : undefined;
          early?.catch(() => undefined); // awaited below, whatever happens
          try {
            for (;;) {
              const q = await queueState(c, w.heartbeatThresholdSeconds, since);
              beat({ unit: 'processes', done: q.alive });
              if (q.alive > 0 || !q.present) {
                if (early) {
                  let s = await early;
                  if (s.code !== 0) s = await status();
                  if (s.code !== 0) throw new Error(describeFailure(`Status command "${w.status}"`, s));
                }
                crashPoint('startWorkers.done');
                return { alive: q.alive };
              }
              if (t.now() > deadline) {
                throw new Error(
                  `No Solid Queue heartbeat within ${Math.round(timeoutMs / 1000)}s after "${w.start}". Check the service's log on its host, then retry.`,
                );
              }
              await Context.current().sleep(POLL_MS);
            }
          } finally {
            await early?.catch(() => undefined); // nothing the step started outlives it
          }
        }),
      );
    },
  };
}

/** The basics and workers.env only (lib/child-env.ts): never the worker's own secrets. */
function commandEnv(t: ResolvedTarget): NodeJS.ProcessEnv {
  return targetCommandEnv(t.env, t.config.workers?.env);
}

function workersOf(t: ResolvedTarget) {
  if (!t.config.workers)
    throw ApplicationFailure.nonRetryable(`Target "${t.name}" has no workers configured.`, 'BadConfig');
  return t.config.workers;
}
