/**
 * S3 answers a DeleteObjects call with per-key errors: a key refused once is retried within the
 * step; a key S3 keeps refusing makes the run wait for an operator (workers running again), and a
 * retry after the cause is fixed resumes and finishes. Nothing outside the recorded blobs is touched.
 */
import { retrySignal } from '../../src/contract';
import { approveWhenAsked, waitFor } from '../support/drive';
import { fixture, type ResetFixture } from '../support/fixture';
import { startS3FaultProxy, type S3FaultProxy } from '../support/s3-fault-proxy';

let f: ResetFixture;
let proxy: S3FaultProxy;
afterEach(async () => {
  await f?.cleanup();
  await proxy?.close();
});

async function setup() {
  proxy = await startS3FaultProxy(process.env.RR_S3_ENDPOINT!);
  f = await fixture({
    pageSize: 10,
    target: { endpoint: proxy.endpoint, timing: { maximumAttempts: 2, heartbeatTimeoutSeconds: 5 } },
  });
  expect(f.service('start')).toBe(0);
  const blob = (await f.sql<{ key: string }>('SELECT key FROM active_storage_blobs ORDER BY key LIMIT 1'))[0].key;
  return `${f.prefix}${blob}`;
}

test('a key refused once is retried inside the step and the run completes', async () => {
  const key = await setup();
  proxy.refuse.set(key, 1);
  await f.startWorker();
  const h = await f.start({ mode: 'execute' });
  await approveWhenAsked(h, f.dbName);
  const r = await h.result();
  expect(r.outcome).toBe('completed');
  expect(proxy.refusals).toBe(1);
  expect((await f.objects()).has(key)).toBe(false);
});

test('a key S3 keeps refusing: the run waits with the reason, workers back; retry after the fix finishes the purge', async () => {
  const key = await setup();
  proxy.refuse.set(key, Infinity);
  await f.startWorker();
  const h = await f.start({ mode: 'execute' });
  await approveWhenAsked(h, f.dbName);
  const p = await waitFor(h, (x) => x.phase === 'waiting-for-operator');
  expect(p.waiting?.step).toBe('purgeStorage');
  expect(p.waiting?.error).toMatch(/S3 refused to delete 1 object\(s\) in bucket .* \(AccessDenied\), e\.g\. /);
  expect(p.workers.status).toBe('running');
  expect(p.waiting?.workersRestarted).toBe(true);
  expect(f.service('status')).toBe(0);
  expect((await f.objects()).has(key)).toBe(true);

  proxy.refuse.clear(); // the bucket policy is fixed
  await h.signal(retrySignal);
  const r = await h.result();
  expect(r.outcome).toBe('completed');
  const after = await f.objects();
  expect(after.has(key)).toBe(false);
  expect(after.size).toBe(f.report.objects!.orphan);
});
