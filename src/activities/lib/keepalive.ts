/**
 * Every activity heartbeats, even the ones that mostly wait on a single SQL statement or a shell
 * command: a worker killed mid-step is then noticed within the heartbeat timeout, not the much longer
 * start-to-close timeout, and the step is retried on a live worker.
 *
 * The heartbeat is also how a cancellation reaches the activity (an operator's abort, or the run's
 * cancellation): Temporal answers a heartbeat with "cancel requested", and the SDK aborts the
 * context's cancellationSignal. Whatever the step was doing then stops — the child process group is
 * killed (shell.ts), the running statement is cancelled on the server (postgres.ts), the partial file
 * removed (backup.ts) — and withKeepalive reports the cancellation, not the error that stopping caused.
 */
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { HeartbeatProgress } from '../../contract';

/**
 * `beat(p)` records the step's progress and sends it at once; `beat(p, { send: false })` only records it,
 * for the timer's next heartbeat (a caller whose progress comes faster than heartbeats are worth sending).
 */
export type Beat = (p?: HeartbeatProgress, o?: { send?: boolean }) => void;

export async function withKeepalive<T>(fn: (beat: Beat) => Promise<T>, everyMs = 2000): Promise<T> {
  const ctx = Context.current();
  // A local activity (the reset lock's) has no heartbeat: the workflow task it runs in is kept alive instead,
  // and its cancellation reaches it all the same.
  const local = ctx.info.isLocal;
  let last: HeartbeatProgress | undefined;
  const beat: Beat = (p, o) => {
    if (p) last = p;
    if (!local && o?.send !== false) ctx.heartbeat(last);
  };
  const timer = setInterval(() => beat(), everyMs);
  try {
    throwIfCancelled();
    beat();
    return await fn(beat);
  } catch (err) {
    // "pg_dump exited with code null" or "canceling statement due to user request" is how the step
    // stopped, not why: the workflow must see a cancellation, and compensate.
    throwIfCancelled();
    throw err;
  } finally {
    clearInterval(timer);
  }
}

/** The running activity's cancellation signal; outside an activity (a unit test, the CLI) none. */
export function cancellation(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

/** The CancelledFailure the SDK aborted the signal with (the activity must throw it to report cancellation). */
export function cancelledFailure(signal: AbortSignal): Error {
  const r = signal.reason as unknown;
  return r instanceof Error ? r : new CancelledFailure(typeof r === 'string' ? r : 'CANCELLED');
}

/** Between two pieces of work: stop here if the step was cancelled. */
export function throwIfCancelled(signal = cancellation()): void {
  if (signal?.aborted) throw cancelledFailure(signal);
}
