/**
 * Worker control faults (wrappers as the target's workers.stop / workers.start): the stop command
 * fails, hangs past its timeout, or returns while the process ignored TERM; the start command fails
 * (once: retried; always: the run ends saying the workers are STILL STOPPED, and they really are);
 * processes start but never heartbeat. Nothing is truncated while workers may still run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { abortSignal } from '../../src/contract';
import { approveAndFinish, approveWhenAsked } from '../../test/support/drive';
import { scenario, waitFor, type Job, type Modes, type Suite } from '../lib/harness';

const KIND = 'worker control';

/**
 * The stop step cannot stop them: pause at stopWorkers with the workers running and the data untouched; abort ends it.
 */
function stopFails(name: string, stop: Modes['stop']) {
  return (suite: Suite) =>
    scenario(suite, KIND, name, 'paused at stopWorkers', async (s) => {
      suite.setModes({ stop });
      const h = await s.start();
      await approveWhenAsked(h, s.f.dbName);
      await s.expectPausedIntact(h, 'stopWorkers');
      s.out.faults = 1;
      await h.signal(abortSignal, { by: 'faults', reason: 'workers cannot be stopped' });
      // An aborted run ends as a failed workflow whose cause is ResetAborted.
      const err = await h.result().then(
        (r) => new Error(`ended ${r.outcome}`),
        (e) => e,
      );
      s.out.got += ', aborted';
      s.check(err.cause?.type === 'ResetAborted', `after abort: ${err.cause?.type ?? err.message}`);
      s.check(s.f.service('status') === 0, 'workers not running after the abort');
      s.countLosses(await s.snapshot(), true);
    });
}

function startFailsOnce(suite: Suite) {
  return scenario(suite, KIND, 'start command fails once', 'completed', async (s) => {
    suite.setModes({ start: 'fail-once' });
    const r = await approveAndFinish(await s.start(), s.f.dbName);
    s.out.faults = 1;
    await s.expectCompleted(r);
  });
}

/**
 * The workers cannot be started: the run waits at startWorkers saying they are STOPPED (and they
 * really are); an abort then tries to start them within the restart budget and ends saying they are
 * STILL STOPPED. The data is reset; nothing kept is lost. Then the operator starts them by hand.
 */
function neverStart(name: string, start: Modes['start']) {
  return (suite: Suite) =>
    scenario(suite, KIND, name, 'paused at startWorkers (stopped), aborted: still stopped', async (s) => {
      suite.setModes({ start });
      const h = await s.start();
      await approveWhenAsked(h, s.f.dbName);
      const p = await waitFor(
        h,
        (x) => ['waiting-for-operator', 'completed', 'failed', 'aborted'].includes(x.phase),
        240_000,
      );
      s.out.faults = 1;
      s.out.got = p.phase === 'waiting-for-operator' ? `paused at ${p.waiting?.step} (${p.workers.status})` : p.phase;
      s.check(
        p.phase === 'waiting-for-operator' && p.waiting?.step === 'startWorkers',
        `expected a pause at startWorkers, got ${s.out.got}`,
      );
      s.check(
        p.workers.status === 'stopped',
        `the run says the workers are ${p.workers.status} while they are stopped`,
      );
      s.check(s.f.service('status') !== 0, 'the service runs, but the start command never started it');
      await h.signal(abortSignal, { by: 'faults', reason: 'workers cannot be started' });
      await h.result().catch(() => undefined);
      const end = await waitFor(
        h,
        (x) => x.phase !== 'waiting-for-operator' && x.phase !== 'compensating' && x.phase !== 'running',
        120_000,
      );
      s.out.got += `, aborted: workers ${end.workers.status}`;
      s.check(
        end.workers.status === 'still-stopped',
        `after the abort the run says the workers are ${end.workers.status}`,
      );
      s.check(s.f.service('status') !== 0, 'the run says still stopped, but the service runs');
      const after = await s.snapshot();
      s.countLosses(after, false);
      s.check(after.counts.get('users') === 6 && after.counts.get('customers') === 0, 'the data was not reset');
      // The operator starts them by hand, as every view told them to.
      suite.setModes({});
      s.check(s.f.service('start') === 0, 'the service does not start by hand');
      const pidFile = path.join(suite.f.dir, 'bin', 'no-heartbeat.pid');
      if (fs.existsSync(pidFile)) {
        for (const pid of fs.readFileSync(pidFile, 'utf8').split('\n').filter(Boolean)) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            /* gone */
          }
        }
        fs.rmSync(pidFile);
      }
    });
}

export function workerControlJobs(full: boolean): Job[] {
  const jobs: (Job & { quick?: boolean })[] = [
    { name: 'stop command fails', quick: true, run: stopFails('stop command fails', 'fail') },
    { name: 'stop command hangs', run: stopFails('stop command hangs past its timeout (8 s)', 'hang') },
    { name: 'process ignores TERM', run: stopFails('stop returns, the process ignored TERM', 'ignore-term') },
    { name: 'start command fails once', quick: true, run: startFailsOnce },
    { name: 'start command always fails', run: neverStart('start command always fails', 'fail') },
    { name: 'started processes never heartbeat', run: neverStart('started processes never heartbeat', 'no-heartbeat') },
  ];
  return jobs.filter((j) => full || j.quick);
}
