/**
 * An extra database may be the primary's own database under a second URL (Rails' queue database kept
 * in a schema of the primary one, say). The reset locks each database's tables on a session of its own
 * before it truncates any, so the two may reset different schemas of it, never the same tables: the plan
 * refuses that, naming both, before anything is touched; with different schemas the reset goes through.
 * On a real PostgreSQL, with the activities in MockActivityEnvironment.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Client } from 'pg';
import { ensureTemplate, fillRoot, recreateDatabase, writeFixtureTargets } from '../../bench/lib/memory-fixture';
import { createActivities } from '../../src/activities';
import { loadTargetsFile } from '../../src/config/load';

const N = 20;
const db = `rr_twice_${process.pid}`;
const admin = () => process.env.RR_PG_ADMIN_URL!;
let dir: string;
let url: string;

beforeEach(async () => {
  url = await recreateDatabase(admin(), db, await ensureTemplate(admin(), db, N));
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-e2e-twice-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
afterAll(async () => {
  const c = new Client({ connectionString: admin() });
  await c.connect();
  for (const d of [db, `${db}_template`]) await c.query(`DROP DATABASE IF EXISTS ${d} WITH (FORCE)`);
  await c.end();
});

/** The fixture's target, its primary database also listed as the extra database "queue" (same URL). */
function setUp(schemas?: { primary: string[]; queue: string[] }) {
  const root = path.join(dir, 'storage');
  fillRoot(root, N);
  const file = path.join(dir, 'targets.json');
  writeFixtureTargets(file, { name: 'app', urlEnv: 'APP_DATABASE_URL', root, backups: path.join(dir, 'backups') });
  const targets = JSON.parse(fs.readFileSync(file, 'utf8'));
  const t = targets.targets.app;
  t.timing = { lockTimeoutSeconds: 1 };
  if (schemas) t.database.schemas = schemas.primary;
  t.extraDatabases = [{ name: 'queue', urlEnv: 'QUEUE_DATABASE_URL', ...(schemas ? { schemas: schemas.queue } : {}) }];
  fs.writeFileSync(file, JSON.stringify(targets));
  const env = { APP_DATABASE_URL: url, QUEUE_DATABASE_URL: url };
  const acts = createActivities({ targets: loadTargetsFile(file, env), env });
  const run = <A, R>(fn: (a: A) => Promise<R>, args: A): Promise<R> =>
    new MockActivityEnvironment().run(fn, args) as Promise<R>;
  const plan = () => run(acts.planReset, { target: 'app' });
  const reset = (runId: string, p: Awaited<ReturnType<typeof plan>>) =>
    run(acts.resetDatabase, {
      target: 'app',
      runId,
      planDigest: p.digest,
      backupCreatedAt: new Date().toISOString(),
      expectedBlobs: p.blobs.count,
    });
  return { plan, reset };
}

async function sql<R extends Record<string, unknown>>(text: string): Promise<R[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(text)).rows;
  } finally {
    await c.end();
  }
}

test('the same tables under two names: the plan refuses, naming both; a reset let through would wait on itself, and change nothing', async () => {
  const { plan, reset } = setUp();
  const p = await plan();
  expect(p.errors).toEqual([
    'databases "primary" and "queue" are one database (the same server and name), and both would truncate public.active_storage_blobs: give them different schemas (database.schemas, extraDatabases[0].schemas), or remove "queue" from extraDatabases',
  ]);
  // What the refusal spares: the queue's TRUNCATE waits for the primary's own lock until lock_timeout.
  const err = await reset('twice-0', p).catch((e: Error) => e);
  expect(String(err)).toMatch(
    /TRUNCATE could not lock its tables within 1s \(target "app", database "queue"\).*Nothing was changed/,
  );
  expect(await sql(`SELECT count(*)::int AS b FROM active_storage_blobs`)).toEqual([{ b: N }]);
});

test('different schemas of one database: planned cleanly, and the reset empties both', async () => {
  await sql(`CREATE SCHEMA q; CREATE TABLE q.jobs (id bigserial PRIMARY KEY); INSERT INTO q.jobs DEFAULT VALUES;`);
  const { plan, reset } = setUp({ primary: ['public'], queue: ['q'] });
  const p = await plan();
  expect(p.errors).toEqual([]);
  const done = await reset('twice-1', p);
  expect(done.countsBefore['queue/q.jobs']).toBe(1);
  expect(done.countsBefore['primary/public.active_storage_blobs']).toBe(N);
  expect(
    await sql(`SELECT (SELECT count(*) FROM q.jobs)::int AS j, (SELECT count(*) FROM active_storage_blobs)::int AS b`),
  ).toEqual([{ j: 0, b: 0 }]);
});
