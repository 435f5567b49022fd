/**
 * Random crashes: each run is a small demo reset whose busy worker (the one that took the run's
 * latest task) is SIGKILLed at a random moment, once or twice; a replacement starts each time.
 * Moments come from a seeded PRNG: the seed is printed, and `--seed <n>` replays the same kills. A
 * small reset takes about 2 s of work (plus the automatic approval), so moments are drawn in 0.3–3 s,
 * each counted from the previous kill (or the start).
 */
import { approveAndFinish } from '../../test/support/drive';
import { prng } from '../lib/prng';
import { scenario, sleep, type Outcome, type Suite } from '../lib/harness';

export const KIND = 'random SIGKILL (chaos)';

export function chaosRun(suite: Suite, seed: number, index: number): Promise<Outcome> {
  const rand = prng(seed * 1000 + index);
  const kills = rand() < 0.5 ? 1 : 2;
  const moments = Array.from({ length: kills }, () => Math.round(300 + rand() * 2700));
  return scenario(
    suite,
    KIND,
    `chaos #${index + 1} (kills at +${moments.join(' ms, +')} ms)`,
    'completed',
    async (s) => {
      const h = await s.start();
      let ended = false;
      const finished = approveAndFinish(h, s.f.dbName).finally(() => (ended = true));
      for (const ms of moments) {
        await Promise.race([sleep(ms), finished.catch(() => undefined)]);
        if (ended) break;
        const victim = await s.busyWorker(h);
        if (victim && !ended) await s.kill(victim);
      }
      const r = await finished;
      await s.expectCompleted(r);
      await s.measureRecovery(h);
    },
  );
}
