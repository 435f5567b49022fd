/**
 * Memory flat in the data, as the database sees it: on a real PostgreSQL with 5,000 blobs and their
 * files on a Disk service, the plan, the reset (which writes the manifest from COPY's bytes), the purge
 * and verify each run with a client that counts the rows every query returns. None may fetch a table's
 * keys whole: no answer is larger than one cursor fetch (2,000 rows), and the work is still all done.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Client, type ClientConfig, type QueryResult } from 'pg';
import {
  ensureTemplate,
  expectedDeleted,
  fillRoot,
  recreateDatabase,
  writeFixtureTargets,
} from '../../bench/lib/memory-fixture';
import { createActivities } from '../../src/activities';
import { loadTargetsFile } from '../../src/config/load';

const N = 5000;
const db = `rr_bounded_${process.pid}`;
let dir: string;
afterAll(async () => {
  const c = new Client({ connectionString: process.env.RR_PG_ADMIN_URL });
  await c.connect();
  for (const d of [db, `${db}_template`]) await c.query(`DROP DATABASE IF EXISTS ${d} WITH (FORCE)`);
  await c.end();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test(`plan, reset, purge and verify of ${N} blobs: no query returns more than one fetch of rows`, async () => {
  const admin = process.env.RR_PG_ADMIN_URL!;
  const url = await recreateDatabase(admin, db, await ensureTemplate(admin, db, N));
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-e2e-bounded-'));
  const root = path.join(dir, 'storage');
  fillRoot(root, N);
  const targets = path.join(dir, 'targets.json');
  writeFixtureTargets(targets, { name: 'app', urlEnv: 'APP_DATABASE_URL', root, backups: path.join(dir, 'backups') });
  const largest: Record<string, number> = {};
  let step = '';
  const pg = (config: ClientConfig) => {
    const c = new Client(config);
    const query = c.query.bind(c) as (...a: unknown[]) => Promise<QueryResult>;
    (c as unknown as { query: unknown }).query = (...a: unknown[]) => {
      const r = query(...a) as unknown;
      if (!(r instanceof Promise)) return r; // a submittable (COPY's stream): bytes, no rows
      return r.then((x: QueryResult | QueryResult[]) => {
        for (const y of Array.isArray(x) ? x : [x]) largest[step] = Math.max(largest[step] ?? 0, y?.rows?.length ?? 0);
        return x;
      });
    };
    return c;
  };
  const env = { APP_DATABASE_URL: url };
  const acts = createActivities({ targets: loadTargetsFile(targets, env), env, pg });
  const run = <A, R>(name: string, fn: (a: A) => Promise<R>, args: A): Promise<R> => {
    step = name;
    return new MockActivityEnvironment().run(fn, args) as Promise<R>;
  };
  const plan = await run('plan', acts.planReset, { target: 'app' });
  expect(plan.blobs.count).toBe(N);
  const reset = await run('reset', acts.resetDatabase, {
    target: 'app',
    runId: 'bounded-1',
    planDigest: plan.digest,
    backupCreatedAt: new Date().toISOString(),
    expectedBlobs: N,
  });
  expect(reset.manifest.blobs).toBe(N);
  const purge = await run('purge', acts.purgeStorage, { target: 'app', runId: 'bounded-1' });
  expect(purge.deleted).toBe(expectedDeleted(N));
  const verify = await run('verify', acts.verifyCounts, { target: 'app' });
  expect(verify.ok).toBe(true);
  // A client that fetched the blob table whole would show 5,000 here.
  for (const s of ['plan', 'reset', 'purge', 'verify'])
    expect({ s, rows: Math.min(largest[s] ?? 0, 2000) }).toEqual({ s, rows: largest[s] ?? 0 });
  // The reset's keys come as COPY's bytes, not as rows: its answers are counts and a few settings.
  expect(largest.reset).toBeLessThan(50);
});
