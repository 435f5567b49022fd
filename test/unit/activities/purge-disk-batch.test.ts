/**
 * One batch of a Disk service's purge removes several files at once (each unlink is a trip through
 * libuv's thread pool; one at a time, a small purge's two batches took ~0.3 s, mostly waiting), a
 * bounded number of them, and counts each file once whatever order they finish in. A real folder; an
 * in-memory stand-in for PostgreSQL.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalStore } from '../../../src/activities/lib/backup-store';
import { manifestName, writeManifestOnce } from '../../../src/activities/manifest';
import { loadedTarget } from '../../support/target-config';
import { diskFile, writeDiskFiles } from '../../support/disk-layout';
import { purgeDeps, purgeOnce } from '../../support/purge-deps';

const RUN = 'run-1';
const KEYS = Array.from({ length: 40 }, (_, i) => `k${String(i).padStart(2, '0')}abcdefghij`);
let dir: string;
let root: string;

const inRoot = (k: string) => diskFile(root, k);

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-unit-disk-batch-'));
  root = path.join(dir, 'storage');
  writeDiskFiles(root, KEYS, (k) => `file ${k}`);
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
  const r = await purgeOnce(purgeDeps(config), RUN);
  expect(most).toBeGreaterThan(1);
  expect(most).toBeLessThanOrEqual(8);
  expect(r).toMatchObject({ deleted: KEYS.length - 1, alreadyGone: 1, bytes: (KEYS.length - 1) * 10 });
  expect(KEYS.filter((k) => fs.existsSync(inRoot(k)))).toEqual([]);
});
