/**
 * State off the host (issue 8, part 1): with an S3 backup destination, the backup, the purge manifest
 * and the reset journal live in the bucket, so a second worker host (its own targets file, its own
 * local folder) finishes a run whose first worker was SIGKILLed right after the TRUNCATE committed,
 * even when the first host's folder is gone; and the purge deletes exactly the dropped blobs' objects.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client as PgClient } from 'pg';
import type { Readable } from 'node:stream';
import { demoTarget } from '../../demo/target';
import { retrySignal } from '../../src/contract';
import { approveAndFinish, waitFor } from '../support/drive';
import { fixture, type ResetFixture } from '../support/fixture';

let f: ResetFixture;
afterEach(async () => {
  await f?.cleanup();
});

const TABLES = [
  'users',
  'phone_models',
  'system_settings',
  'customers',
  'loans',
  'active_storage_blobs',
  'active_storage_attachments',
];

function s3(): S3Client {
  return new S3Client({ endpoint: f.endpoint, forcePathStyle: true, region: 'us-east-1' });
}

async function objectStream(key: string): Promise<Readable> {
  return (await s3().send(new GetObjectCommand({ Bucket: f.bucket, Key: key }))).Body as Readable;
}

/** A second worker host: the same target, but its own targets file and its own local folder. */
function secondHostTargets(backupPrefix?: string): { file: string; dir: string } {
  const dir = path.join(f.dir, 'host-b');
  fs.mkdirSync(dir);
  const t = demoTarget({
    urlEnv: 'E2E_DATABASE_URL',
    bucket: f.bucket,
    endpoint: f.endpoint,
    prefix: f.prefix,
    backupDir: path.join(dir, 'backups'),
    pidFile: f.pidFile,
    pageSize: 5,
    ...(backupPrefix
      ? {
          backup: {
            destination: {
              kind: 's3' as const,
              bucket: f.bucket,
              prefix: backupPrefix,
              endpoint: f.endpoint,
              forcePathStyle: true,
              region: 'us-east-1',
            },
          },
        }
      : {}),
  });
  const file = path.join(dir, 'targets.json');
  fs.writeFileSync(file, JSON.stringify({ targets: { [f.target]: t } }, null, 2));
  return { file, dir };
}

test.each([
  ['its folder kept', false],
  ['its folder deleted (host lost)', true],
])(
  'a second host finishes a run whose first worker died right after the TRUNCATE committed, %s',
  async (_label, hostLost) => {
    const backupPrefix = `rr-backups-${Math.random().toString(16).slice(2, 10)}/`;
    const hostADir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-host-a-'));
    f = await fixture({
      pageSize: 5,
      target: {
        backupDir: path.join(hostADir, 'backups'),
        backup: {
          destination: {
            kind: 's3',
            bucket: process.env.RR_S3_BUCKET!,
            prefix: backupPrefix,
            endpoint: process.env.RR_S3_ENDPOINT!,
            forcePathStyle: true,
            region: 'us-east-1',
          },
        },
      },
    });
    expect(f.service('start')).toBe(0);
    const blobKeys = (await f.sql<{ key: string }>('SELECT key FROM active_storage_blobs')).map((r) => r.key);
    expect(blobKeys.length).toBeGreaterThan(0);
    const countsBefore: Record<string, number> = {};
    for (const t of TABLES) countsBefore[t] = await f.count(t);
    const objectsBefore = await f.objects();
    const otherBefore = await f.objects(f.otherAppPrefix);

    const first = await f.startWorker({ RR_CRASH_AT: 'reset.afterCommit' });
    const h = await f.start({ mode: 'execute' });
    const finished = approveAndFinish(h, f.dbName);
    await new Promise<void>((resolve) => first.child.once('exit', () => resolve()));
    expect(first.child.signalCode).toBe('SIGKILL');
    expect(first.log()).toContain('crash point reset.afterCommit reached');
    // The TRUNCATE did commit: the blob rows are gone before the second host starts.
    expect(await f.count('active_storage_blobs')).toBe(0);
    // Nothing of the run's state is on the first host's disk.
    expect(fs.existsSync(hostADir) ? fs.readdirSync(hostADir, { recursive: true }) : []).toEqual([]);
    if (hostLost) fs.rmSync(hostADir, { recursive: true, force: true });

    const b = secondHostTargets(backupPrefix);
    const second = await f.startWorker({ RESET_RUNBOOK_TARGETS: b.file });
    const r = await finished;
    expect(r.outcome).toBe('completed');
    expect(second.log()).not.toContain('crash point');

    // Exactly the dropped blobs' objects (and their variants) are gone; nothing else.
    const after = await f.objects();
    const deleted = [...objectsBefore.keys()].filter((k) => !after.has(k));
    const owned = (k: string) =>
      blobKeys.some((b) => k === `${f.prefix}${b}` || k.startsWith(`${f.prefix}variants/${b}/`));
    expect(deleted.length).toBeGreaterThan(0);
    expect(deleted.filter((k) => !owned(k))).toEqual([]);
    expect([...after.keys()].filter(owned)).toEqual([]);
    expect(r.objectsDeleted?.count).toBe(deleted.length);
    expect(await f.objects(f.otherAppPrefix)).toEqual(otherBefore);
    expect(f.service('status')).toBe(0);
    expect(await f.count('users')).toBe(6);

    // The state the second host read: manifest and journal beside the backup, in the bucket.
    const stored = [...(await f.objects(backupPrefix)).keys()].map((k) => k.slice(backupPrefix.length));
    expect(stored).toEqual(
      expect.arrayContaining([
        `purge_manifest_${f.target}_${h.firstExecutionRunId}.json`,
        `reset_journal_${f.target}_${h.firstExecutionRunId}.json`,
      ]),
    );

    // The backup: in the bucket, its SHA-256 as recorded, and restorable to the pre-reset counts.
    const file = r.backup!.files.find((x) => x.database === 'primary')!;
    expect(file.location).toEqual({
      kind: 's3',
      bucket: f.bucket,
      key: `${backupPrefix}backup_pre_reset_${f.target}_${file.path.slice(-20, -5)}.dump`,
      endpoint: f.endpoint,
      region: 'us-east-1',
    });
    const hash = createHash('sha256');
    for await (const chunk of await objectStream((file.location as { key: string }).key)) hash.update(chunk as Buffer);
    expect(hash.digest('hex')).toBe(file.sha256);
    const scratch = `${f.dbName}_restore`;
    const admin = new PgClient({ connectionString: process.env.RR_PG_ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${scratch}"`);
    await admin.end();
    const scratchUrl = new URL(process.env.RR_PG_ADMIN_URL!);
    scratchUrl.pathname = `/${scratch}`;
    await pgRestoreFromStream((file.location as { key: string }).key, scratchUrl.toString());
    for (const t of TABLES) expect([t, await f.count(t, scratchUrl.toString())]).toEqual([t, countsBefore[t]]);
    fs.rmSync(hostADir, { recursive: true, force: true });
  },
);

async function pgRestoreFromStream(key: string, url: string): Promise<void> {
  const u = new URL(url);
  const child = spawn('pg_restore', ['--no-owner', '--exit-on-error', '-d', u.pathname.slice(1)], {
    stdio: ['pipe', 'ignore', 'pipe'],
    env: { PATH: process.env.PATH, PGHOST: u.hostname, PGPORT: u.port, PGUSER: decodeURIComponent(u.username) },
  });
  let stderr = '';
  child.stderr!.on('data', (b) => (stderr += b));
  (await objectStream(key)).pipe(child.stdin!);
  const code = await new Promise<number | null>((r) => child.on('close', r));
  if (code !== 0) throw new Error(`pg_restore failed (${code}): ${stderr}`);
}

test('local folders only: a second host that cannot read the manifest pauses the run instead of purging nothing; the first host finishes it', async () => {
  f = await fixture({ pageSize: 5 });
  expect(f.service('start')).toBe(0);
  const blobKeys = (await f.sql<{ key: string }>('SELECT key FROM active_storage_blobs')).map((r) => r.key);
  const objectsBefore = await f.objects();

  const first = await f.startWorker({ RR_CRASH_AT: 'reset.afterCommit' });
  const h = await f.start({ mode: 'execute' });
  const finished = approveAndFinish(h, f.dbName);
  await new Promise<void>((resolve) => first.child.once('exit', () => resolve()));
  expect(await f.count('active_storage_blobs')).toBe(0);

  // Host B: its own local folder, so neither the manifest nor the journal of host A.
  const second = await f.startWorker({ RESET_RUNBOOK_TARGETS: secondHostTargets().file });
  const p = await waitFor(h, (x) => x.phase === 'waiting-for-operator');
  expect(p.waiting).toMatchObject({ step: 'reset', workersRestarted: true });
  expect(p.waiting?.error).toMatch(
    /No purge manifest for this run .* the plan counted \d+ blobs .* another worker host/,
  );
  expect(await f.objects()).toEqual(objectsBefore); // nothing purged blindly
  expect(f.service('status')).toBe(0);

  // Host A comes back (its folder is intact): retry there, and the purge is exact.
  await second.kill('SIGTERM');
  await f.startWorker();
  await h.signal(retrySignal);
  const r = await finished;
  expect(r.outcome).toBe('completed');
  const after = await f.objects();
  const deleted = [...objectsBefore.keys()].filter((k) => !after.has(k));
  const owned = (k: string) =>
    blobKeys.some((b) => k === `${f.prefix}${b}` || k.startsWith(`${f.prefix}variants/${b}/`));
  expect(deleted.length).toBeGreaterThan(0);
  expect(deleted.filter((k) => !owned(k))).toEqual([]);
  expect([...after.keys()].filter(owned)).toEqual([]);
});
