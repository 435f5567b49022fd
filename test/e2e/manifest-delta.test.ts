/**
 * workers.startBeforePurge records the blob keys before the workers stop, and the reset, once they are
 * stopped, records only the rows written since (the delta). On a real PostgreSQL, with 3,000 blobs and
 * their files on a Disk service, rows arrive between the two readings in every way an app writes them:
 * committed after the first reading, inserted by a transaction still open during it, frozen by an
 * explicit VACUUM FREEZE, a key updated. The manifest read back (the first reading and the delta,
 * merged) must hold every key the TRUNCATE dropped, and the purge must remove every file of them; the
 * delta must stay small. A reset attempt that fails before its TRUNCATE takes the delta again.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Client } from 'pg';
import { ensureTemplate, fillRoot, recreateDatabase, writeFixtureTargets } from '../../bench/lib/memory-fixture';
import { diskFile, diskKeyPath, writeDiskFile } from '../support/disk-layout';
import { createActivities } from '../../src/activities';
import {
  manifestDeltaName,
  manifestName,
  readManifest,
  writeManifestOnce,
  writeTableManifest,
} from '../../src/activities/manifest';
import { LocalStore } from '../../src/activities/lib/backup-store';
import { newerThanSql } from '../../src/activities/lib/blob-lines';
import { streamBlobs } from '../../src/activities/lib/blobs';
import { loadTargetsFile } from '../../src/config/load';

const N = 3000;
const db = `rr_delta_${process.pid}`;
const admin = () => process.env.RR_PG_ADMIN_URL!;
let dir: string;
let url: string;
const clients: Client[] = [];

async function connect(): Promise<Client> {
  const c = new Client({ connectionString: url });
  await c.connect();
  clients.push(c);
  return c;
}

beforeEach(async () => {
  url = await recreateDatabase(admin(), db, await ensureTemplate(admin(), db, N));
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-e2e-delta-'));
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.end().catch(() => undefined);
  fs.rmSync(dir, { recursive: true, force: true });
});
afterAll(async () => {
  const c = new Client({ connectionString: admin() });
  await c.connect();
  for (const d of [db, `${db}_template`]) await c.query(`DROP DATABASE IF EXISTS ${d} WITH (FORCE)`);
  await c.end();
});

function setUp() {
  const root = path.join(dir, 'storage');
  fillRoot(root, N);
  const targets = path.join(dir, 'targets.json');
  writeFixtureTargets(targets, { name: 'app', urlEnv: 'APP_DATABASE_URL', root, backups: path.join(dir, 'backups') });
  const env = { APP_DATABASE_URL: url };
  const acts = createActivities({ targets: loadTargetsFile(targets, env), env });
  const run = <A, R>(fn: (a: A) => Promise<R>, args: A): Promise<R> =>
    new MockActivityEnvironment().run(fn, args) as Promise<R>;
  /** A blob row with its file, as an app writes one. */
  const file = (key: string) => diskFile(root, key);
  const put = (key: string) => writeDiskFile(root, diskKeyPath(key), 'new');
  const addBlob = async (c: Client, key: string) => {
    put(key);
    await c.query(
      `INSERT INTO active_storage_blobs (key, filename, service_name, byte_size, created_at) VALUES ($1, 'n.bin', 'local', 3, now())`,
      [key],
    );
  };
  return { acts, run, file, put, addBlob, store: new LocalStore(path.join(dir, 'backups')) };
}

/**
 * A reading's horizon is the oldest transaction running anywhere in the cluster (transaction ids are the
 * cluster's), and the suite's other shards share the cluster: a transaction of theirs open since before
 * this database's rows were written makes every row newer than the horizon, and the delta the whole
 * table (correct, and merged by the purge, but not what this test measures). Waits until a reading made
 * now would take none of the fixture's rows for new.
 */
async function untilNoOlderTransaction(c: Client, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const h = await c.query<{ xmin: string }>(
      `SELECT (txid_snapshot_xmin(txid_current_snapshot()) % 4294967296)::text AS xmin`,
    );
    const newer = await c.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM active_storage_blobs WHERE ${newerThanSql({ xmin: h.rows[0].xmin, at: '' })}`,
    );
    if (newer.rows[0].n === 0) return;
    if (Date.now() > deadline)
      throw new Error(
        `after ${ms} ms, ${newer.rows[0].n} fixture rows still newer than the cluster's oldest transaction`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function manifestKeys(store: LocalStore, runId: string): Promise<Set<string>> {
  const keys = new Set<string>();
  const m = (await readManifest(store, manifestName('app', runId)))!;
  expect(m.version).toBe(3);
  await m.check((b) => keys.add(b.key));
  return keys;
}

test('the keys recorded before the stop and the reset’s delta hold every dropped key; the purge removes every file', async () => {
  const { acts, run, file, put, addBlob, store } = setUp();
  const plan = await run(acts.planReset, { target: 'app' });
  const app = await connect();
  await untilNoOlderTransaction(app);
  // A transaction open while the keys are read: its row is not in that reading, and commits after it.
  const open = await connect();
  await open.query('BEGIN');
  await addBlob(open, 'ffopen-during-the-first-reading');
  const before = await run(acts.recordBlobKeys, { target: 'app', runId: 'd-1' });
  expect(before.blobs).toBe(N);
  await open.query('COMMIT');
  await addBlob(app, '00committed-after-it');
  await addBlob(app, 'zzlast-in-order');
  // A row frozen by an explicit VACUUM FREEZE: it keeps the xid that wrote it, so it is still seen as new.
  await addBlob(app, '77frozen-by-vacuum');
  await app.query('VACUUM (FREEZE) active_storage_blobs');
  // An updated key (ActiveStorage never changes one; a hand-made fix might): the new one is purged too,
  // and the old one's file stays listed from the first reading.
  const { rows } = await app.query<{ key: string }>(`SELECT key FROM active_storage_blobs ORDER BY id LIMIT 1`);
  await app.query(`UPDATE active_storage_blobs SET key = 'aarenamed' WHERE key = $1`, [rows[0].key]);
  put('aarenamed');
  const atTruncate = (await app.query<{ key: string }>('SELECT key FROM active_storage_blobs')).rows.map((r) => r.key);

  const reset = await run(acts.resetDatabase, {
    target: 'app',
    runId: 'd-1',
    planDigest: plan.digest,
    backupCreatedAt: new Date().toISOString(),
    expectedBlobs: plan.blobs.count,
    keysBefore: { rows: before.blobs, bytes: before.bytes },
  });
  const keys = await manifestKeys(store, 'd-1');
  for (const k of atTruncate) expect({ k, listed: keys.has(k) }).toEqual({ k, listed: true });
  expect(keys.size).toBe(atTruncate.length + 1); // and the renamed row's old key, from the first reading
  // The delta is what changed since the first reading, not the table again.
  const delta = (await readManifest(store, manifestDeltaName('app', 'd-1')))!;
  const d = await delta.check();
  expect(d.rows).toBe(5);
  expect(reset.manifest.blobs).toBe(N + d.rows);
  // The table's figure, which a restore checks its load against, is exact to the row.
  expect(reset.countsBefore['primary/public.active_storage_blobs']).toBe(atTruncate.length);

  const purge = await run(acts.purgeStorage, { target: 'app', runId: 'd-1' });
  expect(purge.deleted).toBeGreaterThanOrEqual(atTruncate.length);
  for (const k of atTruncate) expect({ k, there: fs.existsSync(file(k)) }).toEqual({ k, there: false });
});

test('a reset attempt that fails before its TRUNCATE takes the delta again on the next one', async () => {
  const { acts, run, file, addBlob, store } = setUp();
  const plan = await run(acts.planReset, { target: 'app' });
  const app = await connect();
  const before = await run(acts.recordBlobKeys, { target: 'app', runId: 'd-2' });
  await addBlob(app, 'bbbefore-the-failed-attempt');
  const args = {
    target: 'app',
    runId: 'd-2',
    planDigest: plan.digest,
    backupCreatedAt: new Date().toISOString(),
    expectedBlobs: plan.blobs.count,
    keysBefore: { rows: before.blobs, bytes: before.bytes },
  };
  // Refused after the delta was written and before any TRUNCATE (the plan no longer holds).
  await expect(run(acts.resetDatabase, { ...args, planDigest: 'not-the-plan' })).rejects.toThrow(/no longer those/);
  // The workers ran again in between and wrote another file.
  await addBlob(app, 'ccwritten-between-the-attempts');
  await run(acts.resetDatabase, args);
  const keys = await manifestKeys(store, 'd-2');
  expect(keys.has('bbbefore-the-failed-attempt')).toBe(true);
  expect(keys.has('ccwritten-between-the-attempts')).toBe(true);
  await run(acts.purgeStorage, { target: 'app', runId: 'd-2' });
  expect(fs.existsSync(file('ccwritten-between-the-attempts'))).toBe(false);
});

test('COPY writes the same bytes as the row-by-row writer, whatever the keys hold', async () => {
  const c = await connect();
  const odd = [
    'quote"d',
    'back\\slash',
    'new\nline',
    'tab\tand\r',
    'ünïcödé',
    '😀astral',
    '\uE000private',
    'ctl\u0001',
  ];
  for (const k of odd)
    await c.query(
      `INSERT INTO active_storage_blobs (key, filename, service_name, byte_size, created_at) VALUES ($1, 'x', $2, 7, now())`,
      [k, k.length % 2 ? 'local' : 'other "svc"'],
    );
  const header = { target: 'app', runId: 'bytes', createdAt: '2026-12-03T00:00:00.000Z' };
  const a = new LocalStore(path.join(dir, 'a'));
  const b = new LocalStore(path.join(dir, 'b'));
  const byCopy = await writeTableManifest(a, 'm.json', c, header);
  const byRows = await writeManifestOnce(b, 'm.json', { ...header, blobs: streamBlobs(c) });
  expect(byCopy.rows).toBe(N + odd.length);
  expect({ rows: byCopy.rows, bytes: byCopy.bytes, services: byCopy.services }).toEqual(byRows);
  expect(fs.readFileSync(path.join(dir, 'a', 'm.json'))).toEqual(fs.readFileSync(path.join(dir, 'b', 'm.json')));
  const keys: string[] = [];
  await (await readManifest(a, 'm.json'))!.check((r) => keys.push(r.key));
  for (const k of odd) expect(keys).toContain(k);
});

/**
 * The web app keeps writing while the workers are stopped. A blob row whose transaction is still open when
 * the reset starts commits while the reset waits for its tables: it must be recorded (and counted) before
 * the TRUNCATE erases it, or its file stays behind. Without the lock the reset read the keys first, and its
 * TRUNCATE, waiting for the same transaction, then erased a row no reading had seen.
 */
describe.each([
  ['with the keys recorded before the stop (its delta)', true],
  ['with every key recorded by the reset', false],
])('a blob row committed while the reset waits for its tables, %s', (_name, before) => {
  test('is recorded, counted and its file purged', async () => {
    const { acts, run, file, addBlob, store } = setUp();
    const plan = await run(acts.planReset, { target: 'app' });
    const runId = before ? 'd-lock-delta' : 'd-lock-whole';
    const keysBefore = before ? await run(acts.recordBlobKeys, { target: 'app', runId }) : undefined;
    const web = await connect();
    await web.query('BEGIN');
    await addBlob(web, 'eeuploaded-during-the-reset');
    const reset = run(acts.resetDatabase, {
      target: 'app',
      runId,
      planDigest: plan.digest,
      backupCreatedAt: new Date().toISOString(),
      expectedBlobs: plan.blobs.count,
      ...(keysBefore ? { keysBefore: { rows: keysBefore.blobs, bytes: keysBefore.bytes } } : {}),
    });
    // The reset waits for the open insert (whether to lock or to truncate), and reads every key meanwhile:
    // the app's writes wait for the delta only, not for the whole table's keys (seconds at a million).
    const watcher = await connect();
    const waiting = async () =>
      Number(
        (
          await watcher.query<{ n: string }>(
            `SELECT count(*) AS n FROM pg_locks WHERE NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
          )
        ).rows[0].n,
      ) > 0;
    const keysRead = async () => (await readManifest(store, manifestName('app', runId))) !== undefined;
    const deadline = Date.now() + 20_000;
    let waited = false;
    while (!((waited = (await waiting()) || waited) && (await keysRead()))) {
      if (Date.now() > deadline)
        throw new Error(`the reset ${waited ? 'waited for its lock without having read the keys' : 'never waited'}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    // Then the upload commits.
    await web.query('COMMIT');
    const done = await reset;
    const keys = await manifestKeys(store, runId);
    expect(keys.has('eeuploaded-during-the-reset')).toBe(true);
    expect(done.countsBefore['primary/public.active_storage_blobs']).toBe(N + 1);
    expect(done.manifest.blobs).toBe(N + 1);
    await run(acts.purgeStorage, { target: 'app', runId });
    expect(fs.existsSync(file('eeuploaded-during-the-reset'))).toBe(false);
  });
});

test('while the reset reads every key, it holds no lock that makes the app’s writes wait', async () => {
  const { acts, run, store } = setUp();
  const plan = await run(acts.planReset, { target: 'app' });
  // A session holds the blob table whole, so the reset's first reading waits where it can be seen.
  const holder = await connect();
  await holder.query('BEGIN');
  await holder.query('LOCK TABLE active_storage_blobs IN ACCESS EXCLUSIVE MODE');
  const reset = run(acts.resetDatabase, {
    target: 'app',
    runId: 'd-first-reading',
    planDigest: plan.digest,
    backupCreatedAt: new Date().toISOString(),
    expectedBlobs: plan.blobs.count,
  });
  const watcher = await connect();
  const locks = async () =>
    (
      await watcher.query<{ mode: string; granted: boolean }>(
        `SELECT mode, granted FROM pg_locks WHERE locktype = 'relation' AND pid <> ALL($1) AND mode <> 'AccessShareLock'
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND relation IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)`,
        [[(holder as unknown as { processID: number }).processID]],
      )
    ).rows;
  const reading = async () =>
    Number(
      (
        await watcher.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_locks WHERE NOT granted AND mode = 'AccessShareLock' AND relation = 'active_storage_blobs'::regclass
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        )
      ).rows[0].n,
    ) > 0;
  const deadline = Date.now() + 20_000;
  while (!(await reading())) {
    if (Date.now() > deadline) throw new Error('the reset never began to read the keys');
    await new Promise((r) => setTimeout(r, 10));
  }
  // Time enough for a lock asked for alongside the reading to show. Read, then let the reset finish before any
  // assertion: a reset still writing when the test's folder is removed would fail the whole file.
  await new Promise((r) => setTimeout(r, 300));
  const held = await locks();
  await holder.query('COMMIT');
  await reset;
  expect(held).toEqual([]);
  expect((await manifestKeys(store, 'd-first-reading')).size).toBe(N);
});
