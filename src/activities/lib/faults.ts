/**
 * Crash points for the fault-injection tests: with RR_CRASH_AT=<point>[,<point>…] in a worker's
 * environment, that worker SIGKILLs itself the moment it reaches the point — a real crash at an
 * exact place, which an external `kill` can only hit by luck. With RR_CRASH_FILE=<file> (the fault
 * suite, faults/), the file names the point, and only the first worker that reaches it dies: it
 * removes the file first, so several long-lived workers can be armed for one crash at a time.
 * Unset (always, in production), a crash point does nothing.
 */
import * as fs from 'node:fs';

/** The reset's crash points, in the order a run reaches them (the crash tests and the fault suite walk them). */
export const RESET_CRASH_POINTS = [
  'plan.done',
  'backup.streaming',
  'backup.done',
  'stopWorkers.done',
  'reset.beforeCommit',
  'reset.afterCommit',
  'reset.done',
  'purge.afterFirstPage',
  'purge.done',
  'startWorkers.done',
  'verify.done',
] as const;

/** The restore's crash points (restoreFromBackup), in the order a run reaches them. */
export const RESTORE_CRASH_POINTS = ['restore.loading', 'restore.done', 'restoreStorage.copying'] as const;

export type CrashPoint = (typeof RESET_CRASH_POINTS)[number] | (typeof RESTORE_CRASH_POINTS)[number];

export function crashPoint(point: CrashPoint): void {
  const wanted = process.env.RR_CRASH_AT;
  if ((wanted && wanted.split(',').includes(point)) || armedOnce(point)) {
    process.stderr.write(`reset-runbook worker: crash point ${point} reached; SIGKILL\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}

function armedOnce(point: CrashPoint): boolean {
  const file = process.env.RR_CRASH_FILE;
  if (!file) return false;
  try {
    if (fs.readFileSync(file, 'utf8').trim() !== point) return false;
    fs.unlinkSync(file); // one process wins the unlink; the others see ENOENT
    return true;
  } catch {
    return false;
  }
}
