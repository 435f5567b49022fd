/**
 * Every activity heartbeats, even the ones that mostly wait on a single SQL statement or a shell
 * command: a worker killed mid-step is then noticed within the heartbeat timeout, not the much longer
 * start-to-close timeout, and the step is retried on a live worker.
 */
import { Context } from '@temporalio/activity';
import type { HeartbeatProgress } from '../../workflows/definitions';

export async function withKeepalive<T>(fn: (beat: (p?: HeartbeatProgress) => void) => Promise<T>, everyMs = 2000): Promise<T> {
  const ctx = Context.current();
  let last: HeartbeatProgress | undefined;
  const beat = (p?: HeartbeatProgress) => {
    if (p) last = p;
    ctx.heartbeat(last);
  };
  const timer = setInterval(() => beat(), everyMs);
  try {
    beat();
    return await fn(beat);
  } finally {
    clearInterval(timer);
  }
}
