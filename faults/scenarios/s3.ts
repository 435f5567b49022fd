/**
 * S3 faults through the suite's fault proxy: a share of requests answered 503 SlowDown or 500, their
 * connection reset, or held past the client's request timeout (3 s for the suite's workers); a
 * DeleteObjects page that partly fails; ListObjectsV2 failing mid-walk. Every one must end completed:
 * the SDK's retries, then the step's own attempts (resuming from the heartbeat), absorb them.
 */
import { approveAndFinish } from '../../test/support/drive';
import { scenario, waitFor, type Job, type Suite } from '../lib/harness';
import type { ChaosRule } from '../lib/chaos-proxy';

const KIND = 'S3 (fault proxy)';

function ruled(name: string, rule: ChaosRule, whenPurging = false) {
  return (suite: Suite) =>
    scenario(suite, KIND, name, 'completed', async (s) => {
      if (!whenPurging) suite.proxy.rule = rule;
      const h = await s.start();
      const finished = approveAndFinish(h, s.f.dbName);
      if (whenPurging) {
        await waitFor(h, (p) => p.currentStep === 'purgeStorage' || p.phase === 'completed');
        suite.proxy.rule = rule;
      }
      const r = await finished;
      s.out.faults = suite.proxy.injected;
      s.check(s.out.faults > 0 || whenPurging, 'no request was faulted');
      await s.expectCompleted(r);
    });
}

function partialDelete(suite: Suite) {
  return scenario(suite, KIND, 'DeleteObjects partly failing (2 keys refused once)', 'completed', async (s) => {
    for (const k of [...s.before.blobKeys].sort().slice(0, 2)) suite.proxy.refuser.refuse.set(`${s.f.prefix}${k}`, 1);
    const r = await approveAndFinish(await s.start(), s.f.dbName);
    s.out.faults = suite.proxy.refuser.refusals;
    s.check(s.out.faults === 2, `${s.out.faults} key refusals, 2 expected`);
    await s.expectCompleted(r);
  });
}

export function s3Jobs(full: boolean): Job[] {
  const jobs: (Job & { quick?: boolean })[] = [
    {
      name: '503 SlowDown on every 3rd request',
      quick: true,
      run: ruled('503 SlowDown on every 3rd request', { match: 'any', action: 'slowdown', every: 3, times: Infinity }),
    },
    {
      name: '500 on every 3rd request',
      run: ruled('500 InternalError on every 3rd request', {
        match: 'any',
        action: 'error500',
        every: 3,
        times: Infinity,
      }),
    },
    {
      name: 'connection reset on every 4th request',
      run: ruled('connection reset on every 4th request', { match: 'any', action: 'reset', every: 4, times: Infinity }),
    },
    {
      name: 'never answered',
      // Held for good: without the client's idle-socket timeout the step would wait out its start-to-close time.
      run: ruled('2 requests never answered (client timeout 3 s)', {
        match: 'any',
        action: 'hold',
        every: 5,
        times: 2,
      }),
    },
    { name: 'DeleteObjects partly failing', run: partialDelete },
    {
      name: 'ListObjectsV2 failing mid-walk',
      // 6 failures of a continued page: more than the SDK's 5 attempts, so the step's attempt fails and the next
      // resumes.
      run: ruled(
        'ListObjectsV2 failing mid-walk (6 × 500 on a continued page)',
        { match: 'list-continued', action: 'error500', every: 1, times: 6 },
        true,
      ),
    },
  ];
  return jobs.filter((j) => full || j.quick);
}
