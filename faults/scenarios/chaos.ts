/**
 * Random crashes: each run is a small demo reset whose busy worker (the one that took the run's
 * latest task) is SIGKILLed at a random moment, once or twice; a replacement starts each time.
 * Moments come from a seeded PRNG as fractions of a clean run's duration, measured once per suite
 * (a reset nothing kills, not counted as a scenario): fixed moments rotted as the tool got faster (drawn
 * in 0.3–3 s when a small reset took 2 s, three in four landed after it had ended once it took 1 s). The
 * first kill falls in 5–95% of a clean run, a second one 5–95% of it after the first (the run now
 * includes a recovery). The seed is printed, and `--seed <n>` replays the same fractions.
 */
import { approveAndFinish } from '../../test/support/drive';
import { prng } from '../lib/prng';
import { newOutcome, scenario, sleep, type Outcome, type Suite } from '../lib/harness';
import { Stage } from '../lib/stage';

export const KIND = 'random SIGKILL (chaos)';

export async function chaosRun(suite: Suite, seed: number, index: number): Promise<Outcome> {
  const rand = prng(seed * 1000 + index);
  const kills = rand() < 0.5 ? 1 : 2;
  const fractions = Array.from({ length: kills }, () => 0.05 + rand() * 0.9);
  const clean = await cleanRunMs(suite).catch((e: Error) => e);
  if (clean instanceof Error)
    return scenario(suite, KIND, `chaos #${index + 1}`, 'completed', () => Promise.reject(clean));
  const moments = fractions.map((x) => Math.round(x * clean));
  return scenario(
    suite,
    KIND,
    `chaos #${index + 1} (kills at +${moments.join(' ms, +')} ms of a ${clean} ms run)`,
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

const clean = new WeakMap<Suite, Promise<number>>();

/** How long a small reset takes on this suite with nothing killed, approval included: measured once. */
function cleanRunMs(suite: Suite): Promise<number> {
  let ms = clean.get(suite);
  if (!ms) {
    ms = (async () => {
      const s = new Stage(suite, newOutcome(KIND, 'a clean run, to time the kills', 'completed'));
      await s.prepare();
      const started = Date.now();
      const r = await approveAndFinish(await s.start(), s.f.dbName);
      if (r.outcome !== 'completed') throw new Error(`the clean run that times the kills ended ${r.outcome}`);
      return Date.now() - started;
    })();
    clean.set(suite, ms);
  }
  return ms;
}
