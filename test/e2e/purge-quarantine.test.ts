/**
 * The quarantined purge on the real stack. A purge that fails midway on a non-timeout error (S3 keeps
 * refusing one key's delete) waits for an operator; the `resume` the CLI prints resumes it from its
 * progress record: no finished key is copied or deleted again, and every purged object ends in the
 * quarantine exactly once. A blob whose object was already missing is counted `missing` (the run
 * completes), and the restore that follows says that file did not come back, in red. A worker killed
 * mid-purge is replaced, and the counts still add up.
 */
import * as fs from 'node:fs';
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { restoreFromBackup } from '../../src/workflows';
import { approveSignal, progressQuery, restoreWorkflowId, type RestoreResult } from '../../src/contract';
import { renderResult } from '../../src/cli/render-ending';
import { ANSI } from '../../src/cli/style';
import { cli } from '../cli/harness';
import { approveAndFinish, approveWhenAsked, waitFor } from '../support/drive';
import { fixture, type ResetFixture } from '../support/fixture';
import { startS3FaultProxy, type S3FaultProxy } from '../support/s3-fault-proxy';
import { startS3RequestLog, type S3RequestLog } from '../support/s3-request-log';
import { temporalAddress } from '../support/temporal';

let f: ResetFixture;
let log: S3RequestLog | undefined;
let proxy: S3FaultProxy | undefined;
jest.setTimeout(300_000);
afterEach(async () => {
  await f?.cleanup();
  await proxy?.close();
  await log?.close();
  proxy = log = undefined;
});

/** storage.quarantine in the stack's bucket, under a prefix of this fixture's own. */
function withQuarantine(fx: ResetFixture): string {
  const file = JSON.parse(fs.readFileSync(fx.targetsFile, 'utf8'));
  const prefix = `quarantine-${fx.id}/`;
  file.targets[fx.target].storage.quarantine = { bucket: fx.bucket, prefix, days: 30 };
  fs.writeFileSync(fx.targetsFile, JSON.stringify(file, null, 2));
  return prefix;
}

test("a quarantined purge that fails midway resumes, after the operator's resume, from its recorded position: each object quarantined once", async () => {
  log = await startS3RequestLog(process.env.RR_S3_ENDPOINT!);
  proxy = await startS3FaultProxy(log.endpoint);
  f = await fixture({
    scale: 2,
    pageSize: 5,
    target: { endpoint: proxy.endpoint, timing: { maximumAttempts: 2, heartbeatTimeoutSeconds: 5 } },
  });
  const qPrefix = withQuarantine(f);
  const blobs = (await f.sql<{ key: string }>('SELECT key FROM active_storage_blobs ORDER BY key')).map(
    (r) => `${f.prefix}${r.key}`,
  );
  const before = await f.objects();
  const refused = blobs[17]; // in the 4th batch of 5: batches before and after it finish
  proxy.refuse.set(refused, Infinity);
  expect(f.service('start')).toBe(0);
  await f.startWorker();
  const h = await f.start({ mode: 'execute' });
  await approveWhenAsked(h, f.dbName);

  const p = await waitFor(h, (x) => x.phase === 'waiting-for-operator');
  expect(p.waiting?.step).toBe('purgeStorage');
  expect(p.waiting?.error).toContain(`in bucket ${f.bucket} (AccessDenied), e.g. ${refused}`);
  // Two attempts ran (the workflow's own retry is a non-timeout one: no heartbeat handed on).
  expect(p.steps.find((s) => s.name === 'purgeStorage')?.attempts).toBe(2);

  // What the CLI tells the operator to type, typed.
  const env = { TEMPORAL_ADDRESS: temporalAddress(), RR_TASK_QUEUE: f.taskQueue };
  const status = await cli(['status', f.target], env);
  const printed = /retry the step: reset-runbook (resume \S+)/.exec(status.stdout);
  expect(printed).not.toBeNull();
  proxy.refuse.clear(); // the bucket policy is fixed
  const resumed = await cli(printed![1].split(' '), env);
  expect(resumed.code).toBe(0);
  const r = await h.result();
  expect(r.outcome).toBe('completed');

  // Every purged object (blobs and untracked variants) is in the quarantine, and only there.
  const after = await f.objects();
  const purged = [...before.keys()].filter((k) => !after.has(k));
  expect(purged).toEqual(expect.arrayContaining(blobs));
  const quarantined = [...(await f.objects(qPrefix)).keys()].map((k) => k.replace(/^[^/]+\/[^/]+\/amazon\//, ''));
  expect(quarantined.sort()).toEqual(purged.sort());
  expect(r.objectsDeleted).toMatchObject({ count: purged.length, alreadyGone: 0, missing: 0 });

  // Requests: each object copied to the quarantine once and sent for deletion once, but the refused
  // one (tried by every attempt) — neither the workflow's retry nor the resume started over.
  const copies = new Map<string, number>();
  for (const q of log.requests.filter((x) => x.method === 'PUT' && x.path.startsWith(`/${f.bucket}/${qPrefix}`))) {
    const k = q.path.replace(new RegExp(`^/${f.bucket}/${qPrefix}[^/]+/amazon/`), '');
    copies.set(k, (copies.get(k) ?? 0) + 1);
  }
  const deletes = new Map<string, number>();
  for (const k of log.requests.filter((x) => x.kind === 'deleteObjects').flatMap((x) => x.keys))
    deletes.set(k, (deletes.get(k) ?? 0) + 1);
  for (const k of purged.filter((x) => x !== refused))
    expect({ k, copies: copies.get(k), deletes: deletes.get(k) }).toEqual({ k, copies: 1, deletes: 1 });
  // 2 attempts x 3 tries within each, then the resumed attempt's one.
  expect(copies.get(refused)).toBe(7);
});

test('a blob whose object was already missing is counted missing and the run completes; the restore says it did not come back', async () => {
  f = await fixture({ scale: 1 });
  const qPrefix = withQuarantine(f);
  const blobs = (await f.sql<{ key: string }>('SELECT key FROM active_storage_blobs ORDER BY key')).map(
    (r) => `${f.prefix}${r.key}`,
  );
  const lost = blobs[3];
  const s3 = new S3Client({
    endpoint: f.endpoint,
    forcePathStyle: true,
    region: process.env.AWS_REGION ?? 'us-east-1',
  });
  await s3.send(new DeleteObjectCommand({ Bucket: f.bucket, Key: lost }));
  s3.destroy();
  const before = await f.objects();
  expect(f.service('start')).toBe(0);
  await f.startWorker();
  const h = await f.start({ mode: 'execute' });
  const r = await approveAndFinish(h, f.dbName);
  expect(r.outcome).toBe('completed');
  expect(r.objectsDeleted).toMatchObject({ alreadyGone: 0, missing: 1, missingSample: [`s3://${f.bucket}/${lost}`] });
  expect(r.objectsDeleted!.count).toBe(before.size - (await f.objects()).size);
  expect((await f.objects(qPrefix)).size).toBe(r.objectsDeleted!.count);
  const step = (await h.query(progressQuery)).steps.find((s) => s.name === 'purgeStorage');
  expect(step?.detail).toContain(
    `1 missing before the reset (blob rows without a file), e.g. s3://${f.bucket}/${lost}`,
  );
  expect(renderResult(r)).toContain(
    `storage: 1 file(s) were missing before the reset (blob rows without a file), e.g. s3://${f.bucket}/${lost}`,
  );

  const rh = await f.client.workflow.start<typeof restoreFromBackup>('restoreFromBackup', {
    taskQueue: f.taskQueue,
    workflowId: restoreWorkflowId(f.target),
    args: [{ target: f.target }],
  });
  const waiting = await waitFor(rh as never, (x) => x.phase === 'awaiting-approval');
  expect(waiting.restorePlan).toMatchObject({ objectsMissing: 1, quarantine: { objects: r.objectsDeleted!.count } });
  await rh.signal(approveSignal, { confirmation: f.dbName, by: 'jest' });
  const back = (await rh.result()) as RestoreResult;
  expect(back.outcome).toBe('completed');
  expect(back.objectsRestored?.count).toBe(r.objectsDeleted!.count);
  expect(back.objectsMissing).toBe(1);
  expect(await f.objects()).toEqual(before);
  const restoreStep = (await rh.query(progressQuery)).steps.find((s) => s.name === 'restoreStorage');
  expect(restoreStep?.detail).toContain('1 purged file(s) cannot come back');
  // The CLI's ending: the count, in red (on a terminal; the status command prints the same text plain here).
  expect(renderResult(back as never, ANSI)).toContain(
    ANSI.red('  storage: 1 purged file(s) did not come back: their blob rows point at missing files'),
  );
  const shown = await cli(['status', restoreWorkflowId(f.target)], {
    TEMPORAL_ADDRESS: temporalAddress(),
    RR_TASK_QUEUE: f.taskQueue,
  });
  expect(shown.stdout).toContain('storage: 1 purged file(s) did not come back');
});

test('a worker SIGKILLed in the middle of a quarantined purge is replaced; every purged object is in the quarantine, each counted once', async () => {
  f = await fixture({ pageSize: 5 });
  const qPrefix = withQuarantine(f);
  const before = await f.objects();
  expect(f.service('start')).toBe(0);
  const doomed = await f.startWorker({ RR_CRASH_AT: 'purge.afterFirstPage' });
  const h = await f.start({ mode: 'execute' });
  const finished = approveAndFinish(h, f.dbName);
  await new Promise<void>((resolve) => doomed.child.once('exit', () => resolve()));
  expect(doomed.log()).toContain('crash point purge.afterFirstPage reached');
  await f.startWorker();
  const r = await finished;
  expect(r.outcome).toBe('completed');

  const after = await f.objects();
  const purged = [...before.keys()].filter((k) => !after.has(k));
  const quarantined = [...(await f.objects(qPrefix)).keys()].map((k) => k.replace(/^[^/]+\/[^/]+\/amazon\//, ''));
  expect(quarantined.sort()).toEqual(purged.sort());
  // Whatever the killed attempt did before its progress was recorded counts once, as deleted or already gone.
  expect(r.objectsDeleted!.count + r.objectsDeleted!.alreadyGone!).toBe(purged.length);
  expect(r.objectsDeleted!.missing).toBe(0);
});
