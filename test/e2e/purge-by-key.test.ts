/**
 * Purge by key: the purge deletes the manifest's keys directly (DeleteObjects of pageSize keys, several
 * calls in flight) and lists only `<prefix>variants/`; its requests follow what it deletes, not what
 * the bucket holds. It resumes from its heartbeat position without sending a finished key again.
 * A Disk-service target is reset end to end. The plan counts large tables by estimate ("≈") unless
 * exact counts are asked for, and samples storage instead of listing it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { loadTargetsFile } from '../../src/config/load';
import { readBlobs } from '../../src/activities/lib/blobs';
import { backupStoreFor } from '../../src/activities/lib/backup-store';
import { withClient } from '../../src/activities/lib/postgres';
import { createStorageActivities, type PurgeResult } from '../../src/activities/storage';
import { manifestName, writeManifestOnce } from '../../src/activities/manifest';
import { renderPlan } from '../../src/cli/render-plan';
import type { HeartbeatProgress } from '../../src/contract';
import { cli, json } from '../cli/harness';
import { approveAndFinish } from '../support/drive';
import { temporalAddress } from '../support/temporal';
import { fixture, type ResetFixture } from '../support/fixture';
import { startS3FaultProxy, type S3FaultProxy } from '../support/s3-fault-proxy';
import { startS3RequestLog, type S3RequestLog } from '../support/s3-request-log';
import { diskFile, diskVariantPath } from '../support/disk-layout';

let f: ResetFixture;
let log: S3RequestLog | undefined;
let proxy: S3FaultProxy | undefined;
afterEach(async () => {
  await f?.cleanup();
  await proxy?.close();
  await log?.close();
  proxy = log = undefined;
});

const PAGE = 20;

/** Patches the fixture's targets file (fields the demo target does not take as options). */
function patchTarget(fx: ResetFixture, patch: (t: Record<string, any>) => void): void {
  const file = JSON.parse(fs.readFileSync(fx.targetsFile, 'utf8'));
  patch(file.targets[fx.target]);
  fs.writeFileSync(fx.targetsFile, JSON.stringify(file, null, 2));
}

async function put(keys: string[]): Promise<void> {
  const s3 = new S3Client({
    endpoint: f.endpoint,
    forcePathStyle: true,
    region: process.env.AWS_REGION ?? 'us-east-1',
  });
  let next = 0;
  const lane = async () => {
    while (next < keys.length) {
      const k = keys[next++];
      await s3.send(new PutObjectCommand({ Bucket: f.bucket, Key: k, Body: `unrelated ${k}` }));
    }
  };
  await Promise.all(Array.from({ length: 16 }, lane));
  s3.destroy();
}

test("the purge deletes exactly the dropped blobs' objects and untracked variants, in few requests, whatever else the bucket holds", async () => {
  log = await startS3RequestLog(process.env.RR_S3_ENDPOINT!);
  f = await fixture({ scale: 3, pageSize: PAGE, target: { endpoint: log.endpoint } });
  const blobKeys = (await f.sql<{ key: string }>('SELECT key FROM active_storage_blobs ORDER BY key')).map(
    (r) => r.key,
  );
  // The seeds re-create one blob with a recorded key: its object and variants must stay.
  const kept = blobKeys[7];
  const seeds = path.join(f.dir, 'seeds.sql');
  fs.writeFileSync(
    seeds,
    fs.readFileSync(path.join(__dirname, '../../demo/db/seeds.sql'), 'utf8') +
      `\nINSERT INTO active_storage_blobs (key, filename, service_name, byte_size, created_at) VALUES ('${kept}', 'kept.jpg', 'amazon', 1, now());\n`,
  );
  f.writeTargets({ seedSqlFile: seeds });
  patchTarget(f, (t) => (t.storage.concurrency = 3));
  const before = await f.objects();
  // 5x unrelated objects: look-alikes under the prefix, the same keys under other prefixes.
  const unrelated: string[] = [];
  for (const [i, k] of blobKeys.entries()) {
    unrelated.push(
      `${f.prefix}${k}.bak`,
      `${f.prefix}x${k}`,
      `${f.prefix}variants/${k}x/v`,
      `${f.prefix}variants-old/${k}/v`,
      `${f.otherAppPrefix}${k}`,
    );
    if (unrelated.length >= 5 * before.size) break;
    void i;
  }
  await put(unrelated);
  const untracked = [...before.keys()].filter((k) => k.startsWith(`${f.prefix}variants/`));
  const doomedVariants = untracked.filter((k) => !k.startsWith(`${f.prefix}variants/${kept}/`));
  expect(doomedVariants.length).toBeGreaterThan(0);

  expect(f.service('start')).toBe(0);
  await f.startWorker();
  const r = await approveAndFinish(await f.start({ mode: 'execute' }), f.dbName);
  expect(r.outcome).toBe('completed');

  const after = await f.objects();
  const doomedBlobs = blobKeys.filter((k) => k !== kept);
  for (const k of doomedBlobs) expect(after.has(`${f.prefix}${k}`)).toBe(false);
  for (const k of doomedVariants) expect(after.has(k)).toBe(false);
  expect(after.has(`${f.prefix}${kept}`)).toBe(true);
  for (const k of untracked.filter((x) => !doomedVariants.includes(x))) expect(after.has(k)).toBe(true);
  for (const k of unrelated.filter((x) => x.startsWith(f.prefix))) expect(after.has(k)).toBe(true);
  for (const k of unrelated.filter((x) => x.startsWith(f.otherAppPrefix)))
    expect((await f.objects(k)).has(k)).toBe(true);
  // Orphans that predate the reset stay too: only the doomed objects went.
  expect(after.size).toBe(
    before.size + unrelated.filter((x) => x.startsWith(f.prefix)).length - doomedBlobs.length - doomedVariants.length,
  );
  expect(r.objectsDeleted?.count).toBe(doomedBlobs.length + doomedVariants.length);
  expect(r.objectsDeleted?.bytes).toBeGreaterThan(0);

  // Requests: DeleteObjects of full pages (one partial call per phase at most), one listing of
  // <prefix>variants/, no listing of the bucket or the prefix, HEADs only for the plan's sample.
  const deletes = log.requests.filter((q) => q.kind === 'deleteObjects');
  const lists = log.requests.filter((q) => q.kind === 'list');
  const sent = deletes.flatMap((q) => q.keys);
  expect(new Set(sent).size).toBe(sent.length); // no key sent twice
  expect(sent.length).toBe(doomedBlobs.length + doomedVariants.length);
  expect(deletes.length).toBeLessThanOrEqual(
    Math.ceil(doomedBlobs.length / PAGE) + Math.ceil(doomedVariants.length / PAGE),
  );
  expect(deletes.length).toBeLessThanOrEqual((1.1 * sent.length) / PAGE + 2);
  expect(lists.length).toBeGreaterThanOrEqual(1);
  for (const q of lists) expect(q.query.get('prefix')).toBe(`${f.prefix}variants/`);
  expect(lists.length).toBeLessThanOrEqual(1 + Math.floor((untracked.length + blobKeys.length) / 1000));
  expect(log.requests.filter((q) => q.kind === 'head').length).toBeLessThanOrEqual(100);
  expect(r.plan?.objectsToDelete.sample).toEqual({
    checked: Math.min(100, blobKeys.length),
    present: Math.min(100, blobKeys.length),
  });
});

test('resumed from its heartbeat position, the purge sends no finished key again', async () => {
  log = await startS3RequestLog(process.env.RR_S3_ENDPOINT!);
  proxy = await startS3FaultProxy(log.endpoint);
  f = await fixture({ scale: 2, pageSize: 5, target: { endpoint: proxy.endpoint } });
  patchTarget(f, (t) => (t.storage.concurrency = 3));
  // What the reset step leaves: a manifest of every blob, and an empty blob table.
  const targets = loadTargetsFile(f.targetsFile, f.workerEnv);
  const runId = 'resume-run';
  const blobs = await withClient(
    { name: 'primary', url: f.dbUrl, keepTables: [], refreshMaterializedViews: false },
    readBlobs,
  );
  await writeManifestOnce(backupStoreFor(targets.targets[f.target].backup), manifestName(f.target, runId), {
    target: f.target,
    runId,
    createdAt: new Date().toISOString(),
    blobs,
  });
  await f.sql('TRUNCATE active_storage_attachments, active_storage_variant_records, active_storage_blobs');
  const sorted = blobs.map((b) => b.key).sort();
  const refused = `${f.prefix}${sorted[17]}`; // in the 4th batch: batches after it finish while it is retried
  proxy.refuse.set(refused, Infinity);

  const act = createStorageActivities({ targets, env: f.workerEnv });
  const first = new MockActivityEnvironment({ heartbeatTimeoutMs: 30_000 });
  let last: HeartbeatProgress | undefined;
  first.on('heartbeat', (d: HeartbeatProgress) => (last = d ?? last));
  await expect(first.run(act.purgeStorage, { target: f.target, runId })).rejects.toThrow(
    /S3 refused to delete 1 object\(s\).*retry: it resumes here/,
  );
  expect(last?.position).toBeDefined();
  const sentBefore = log.requests.filter((q) => q.kind === 'deleteObjects').flatMap((q) => q.keys);
  expect(sentBefore).not.toContain(refused); // the fault proxy kept it from S3
  expect(sentBefore.length).toBeGreaterThan(17);

  proxy.refuse.clear();
  const second = new MockActivityEnvironment({ heartbeatTimeoutMs: 30_000 });
  const r = (await second.run(act.purgeStorage, {
    target: f.target,
    runId,
    resumeFrom: last!.position,
  })) as PurgeResult;
  const sent = log.requests.filter((q) => q.kind === 'deleteObjects').flatMap((q) => q.keys);
  const counts = new Map<string, number>();
  for (const k of sent) counts.set(k, (counts.get(k) ?? 0) + 1);
  expect([...counts.entries()].filter(([, n]) => n > 1)).toEqual([]);
  for (const k of sorted) expect(counts.get(`${f.prefix}${k}`)).toBe(1);
  const variants = [...counts.keys()].filter((k) => k.startsWith(`${f.prefix}variants/`)).length;
  expect(r.deleted).toBe(sorted.length + variants);
  // Of them the untracked variants, which the plan's count leaves out: the step's line names them.
  expect(variants).toBeGreaterThan(0);
  expect(r.variants).toBe(variants);
  const after = await f.objects();
  for (const k of sorted) expect(after.has(`${f.prefix}${k}`)).toBe(false);
  expect(after.size).toBe(f.report.objects!.orphan);
});

test('a Disk-service target: files of dropped blobs and their variant folders go, nothing else; a purge:false service keeps its files', async () => {
  f = await fixture({ scale: 1 });
  // The app stores its files on Disk: "local" (purged) and "archive" (purge: false).
  await f.sql(`UPDATE active_storage_blobs SET service_name = CASE WHEN id % 4 = 0 THEN 'archive' ELSE 'local' END`);
  const rows = await f.sql<{ key: string; service: string; byte_size: string }>(
    'SELECT key, service_name AS service, byte_size FROM active_storage_blobs',
  );
  const root = path.join(f.dir, 'storage');
  const archive = path.join(f.dir, 'archive');
  const file = diskFile;
  const write = (p: string, body: string) => {
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, body);
  };
  for (const r of rows) write(file(r.service === 'local' ? root : archive, r.key), 'x'.repeat(Number(r.byte_size)));
  const local = rows.filter((r) => r.service === 'local').map((r) => r.key);
  const variantFiles = local
    .slice(0, 3)
    .flatMap((k) => [
      path.join(root, diskVariantPath(k, 'a'.repeat(64))),
      path.join(root, diskVariantPath(k, 'nested', 'b')),
    ]);
  for (const p of variantFiles) write(p, 'variant');
  const survivors = [
    `${file(root, local[0])}.bak`, // a look-alike beside a doomed file
    path.join(root, diskVariantPath(`${local[1]}x`, 'c')), // a look-alike variant folder
    path.join(root, 'zz', 'zz', 'zzzzzzzzzzzzzzzzzzzzzzzzzzzz'), // an orphan that predates the reset
  ];
  for (const p of survivors) write(p, 'keep');
  const outside = path.join(f.dir, 'outside.txt');
  write(outside, 'outside the root');
  f.writeTargets();
  patchTarget(f, (t) => {
    t.storage = {
      services: { local: { kind: 'disk', root: 'storage' }, archive: { kind: 'disk', root: archive, purge: false } },
      concurrency: 2,
    };
  });

  expect(f.service('start')).toBe(0);
  await f.startWorker();
  const r = await approveAndFinish(await f.start({ mode: 'execute' }), f.dbName);
  expect(r.outcome).toBe('completed');
  expect(r.plan?.errors).toEqual([]);
  expect(
    r.plan?.warnings.some((w) => /service archive has purge: false: the files of its \d+ blob\(s\).*stay/.test(w)),
  ).toBe(true);
  expect(r.plan?.objectsToDelete.count).toBe(local.length);
  expect(r.plan?.objectsToDelete.sample).toEqual({ checked: local.length, present: local.length });

  for (const k of local) expect(fs.existsSync(file(root, k))).toBe(false);
  for (const p of variantFiles) expect(fs.existsSync(p)).toBe(false);
  for (const k of local.slice(0, 3)) expect(fs.existsSync(path.join(root, diskVariantPath(k)))).toBe(false);
  for (const p of survivors) expect(fs.readFileSync(p, 'utf8')).toBe('keep');
  for (const rr of rows.filter((x) => x.service === 'archive')) expect(fs.existsSync(file(archive, rr.key))).toBe(true);
  expect(fs.readFileSync(outside, 'utf8')).toBe('outside the root');
  expect(r.objectsDeleted?.count).toBe(local.length + variantFiles.length);
  expect(r.objectsDeleted?.variants).toBe(variantFiles.length);
});

test('the plan shows large tables by estimate ("≈"), and counts them exactly when asked', async () => {
  f = await fixture({ scale: 1 });
  // Every analysed table is "large" here, so the estimates show on a small database.
  patchTarget(f, (t) => (t.plan = { estimateAboveRows: 1 }));
  await f.sql('ANALYZE');
  await f.startWorker();
  const estimated = (await (await f.start({ mode: 'plan' })).result()).plan!;
  const customers = estimated.tables.find((t) => t.table === 'customers')!;
  expect(customers.estimated).toBe(true);
  expect(renderPlan(estimated)).toMatch(/customers\s+≈\d/);
  expect(renderPlan(estimated)).toContain('--exact-counts');

  const exact = (await (await f.start({ mode: 'plan', exactCounts: true })).result()).plan!;
  expect(exact.tables.filter((t) => t.estimated)).toEqual([]);
  expect(exact.tables.find((t) => t.table === 'customers')!.rows).toBe(await f.count('customers'));
  expect(renderPlan(exact)).not.toContain('≈');

  // The CLI: the plan shows "≈" before estimates; --exact-counts asks the run for exact counts.
  const env = { TEMPORAL_ADDRESS: temporalAddress(), RR_TASK_QUEUE: f.taskQueue };
  const human = await cli(['plan', f.target], env);
  expect(human.code).toBe(0);
  expect(human.stdout).toMatch(/customers\s+≈\d/);
  const counted = await cli(['plan', f.target, '--exact-counts', '--json'], env);
  expect(counted.code).toBe(0);
  const tables = (json(counted) as { plan: { tables: { table: string; rows: number; estimated?: boolean }[] } }).plan
    .tables;
  expect(tables.filter((t) => t.estimated)).toEqual([]);
  expect(tables.find((t) => t.table === 'customers')!.rows).toBe(await f.count('customers'));
});
