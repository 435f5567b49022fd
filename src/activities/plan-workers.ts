/**
 * The plan's workers part: how many Solid Queue processes are alive and what they hold, and whether
 * the run will start the workers at its end.
 */
import { processesEverRegistered, queueState } from './lib/solid-queue';
import { withClient } from './lib/postgres';
import { databaseByName, type ResolvedTarget } from './lib/target';

export interface WorkersPlan {
  workersAlive: number;
  claimedExecutions: number;
  startWorkersAtEnd: boolean;
}

/** Without workers configured, every database is checked for live processes the reset would run under. */
export async function planWorkers(t: ResolvedTarget, warnings: string[]): Promise<WorkersPlan> {
  const cfg = t.config;
  let workersAlive = 0;
  let claimedExecutions = 0;
  let startWorkersAtEnd = false;
  const w = cfg.workers;
  if (w) {
    const where = w.database;
    await withClient(databaseByName(t, w.database), async (c) => {
      const q = await queueState(c, w.heartbeatThresholdSeconds);
      if (!q.present)
        warnings.push(`no solid_queue_processes table in database "${where}": cannot watch the workers stop`);
      workersAlive = q.alive;
      claimedExecutions = q.claimedTotal;
      if (q.stale)
        warnings.push(
          `${q.stale} Solid Queue process row(s) have stale heartbeats (a crashed host?); they are ignored`,
        );
      // "start" by default: a reset should leave the application with workers, and a run that starts
      // them proves the start command works; "leave" is for targets whose workers are meant to be off.
      startWorkersAtEnd = q.alive > 0 || w.whenNoneAliveBefore === 'start';
      if (q.alive === 0) {
        warnings.push(
          startWorkersAtEnd
            ? `no Solid Queue process is alive before the reset, yet the run will start the workers at the end with "${w.start}" (workers.whenNoneAliveBefore: "start"; set it to "leave" to leave them stopped, as they were)`
            : `no Solid Queue process is alive before the reset: the workers will be left stopped at the end, as they were (workers.whenNoneAliveBefore: "leave"); start them by hand with "${w.start}" if they should run`,
        );
      }
      if ((await processesEverRegistered(c)) === false) {
        warnings.push(
          `no Solid Queue process has ever registered in database "${where}" (solid_queue_processes is empty and its id sequence was never used): "${w.start}" cannot be expected to bring heartbeats back${startWorkersAtEnd ? ', so step 5 would fail after the TRUNCATE' : ''}; check that workers.database names the database Solid Queue writes to and that the start command really starts it`,
        );
      }
    });
  } else {
    warnings.push('no workers configured: Solid Queue must be stopped and started by hand around this reset');
    for (const db of t.databases) {
      await withClient(db, async (c) => {
        const q = await queueState(c, 300);
        if (q.alive === 0) return;
        workersAlive += q.alive;
        claimedExecutions += q.claimedTotal;
        warnings.push(
          `${q.alive} Solid Queue process(es) are alive in database "${db.name}" (heartbeat within 300 s) but this target configures no workers: they will keep running jobs while the reset truncates their tables; stop them by hand before approving, or configure workers.stop and workers.start`,
        );
      });
    }
  }
  return { workersAlive, claimedExecutions, startWorkersAtEnd };
}
