/**
 * Crash points for the fault-injection tests: with RR_CRASH_AT=<point>[,<point>…] in a worker's
 * environment, that worker SIGKILLs itself the moment it reaches the point — a real crash at an
 * exact place, which an external `kill` can only hit by luck. Unset (always, in production), a
 * crash point does nothing.
 */
export type CrashPoint =
  | 'plan.done'
  | 'backup.streaming'
  | 'backup.done'
  | 'stopWorkers.done'
  | 'reset.beforeCommit'
  | 'reset.afterCommit'
  | 'reset.done'
  | 'purge.afterFirstPage'
  | 'purge.done'
  | 'startWorkers.done'
  | 'verify.done'
  | 'restore.loading'
  | 'restore.done';

export function crashPoint(point: CrashPoint): void {
  const wanted = process.env.RR_CRASH_AT;
  if (wanted && wanted.split(',').includes(point)) {
    process.stderr.write(`reset-runbook worker: crash point ${point} reached; SIGKILL\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}
