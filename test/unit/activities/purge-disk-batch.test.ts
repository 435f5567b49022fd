/**
 * One batch of a Disk service's purge removes several files at once (each unlink is a trip through
 * libuv's thread pool; one at a time, a small purge's two batches took ~0.3 s, mostly waiting), a
 * bounded number of them, and counts each file once whatever order they finish in. A real folder; an
 * in-memory stand-in for PostgreSQL.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { LocalStore } from '../../../src/activities/lib/backup-store';
import { manifestName, writeManifestOnce } from '../../../src/activities/manifest';
import { createStorageActivities, type PurgeResult } from '../../../src/activities/storage';
import { loadedTarget } from '../../support/target-config';
import { fakePg } from '../../support/fake-pg';

const RUN = 'run-1';
const KEYS = Array.from({ length: 40 }, (_, i) => `k${String(i).padStart(2, '0')}abcdefghij`);
let dir: string;
let root: string;

const inRoot = (k: string) => path.join(root, k.slice(0, 2), k.slice(2, 4), k);

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-unit-disk-batch-'));
  root = path.join(dir, 'storage');
  for (const k of KEYS) {
    fs.mkdirSync(path.dirname(inRoot(k)), { recursive: true });
    fs.writeFileSync(inRoot(k), `file ${k}`);
  }
});
afterEach(() => {
  jest.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('one batch, one lane: its files are unlinked several at a time, at most 8, and each is counted once', async () => {
  // One file already gone: counted as such, wherever it falls among the files in flight.
  fs.rmSync(inRoot(KEYS[17]));
  const config = loadedTarget({
    database: { urlEnv: 'APP_DB' },
    backup: { dir: path.join(dir, 'backups') },
    storage: { services: { local: { kind: 'disk', root } }, pageSize: 1000, concurrency: 1 },
  });
  await writeManifestOnce(new LocalStore(path.join(dir, 'backups')), manifestName('app', RUN), {
    target: 'app',
    runId: RUN,
    createdAt: new Date().toISOString(),
    blobs: KEYS.map((key) => ({ key, service: 'local', bytes: 10 })),
  });
  let inFlight = 0;
  let most = 0;
  const unlink = fs.promises.unlink.bind(fs.promises);
  jest.spyOn(fs.promises, 'unlink').mockImplementation(async (p) => {
    most = Math.max(most, ++inFlight);
    try {
      // Long enough that a second unlink would start before this one ends, if the batch lets it.
      await new Promise((r) => setTimeout(r, 2));
      return await unlink(p);
    } finally {
      inFlight--;
    }
  });
  const pg = fakePg([
    [/to_regclass\('active_storage_blobs'\)/, () => [{ ok: true }]],
    [/FROM active_storage_blobs/, () => []],
  ]);
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  const r = (await env.run(
    createStorageActivities({
      targets: { file: '/t.json', targets: { app: config } },
      env: { APP_DB: 'postgres://app:pw@db/app' },
      pg: pg.factory,
    }).purgeStorage,
    { target: 'app', runId: RUN },
  )) as PurgeResult;
  expect(most).toBeGreaterThan(1);
  expect(most).toBeLessThanOrEqual(8);
  expect(r).toMatchObject({ deleted: KEYS.length - 1, alreadyGone: 1, bytes: (KEYS.length - 1) * 10 });
  expect(KEYS.filter((k) => fs.existsSync(inRoot(k)))).toEqual([]);
});
