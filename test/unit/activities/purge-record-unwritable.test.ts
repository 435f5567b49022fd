/**
 * The purge's progress record is written off the event loop (LocalStore.writeText): a write that fails
 * must still stop the purge with a message that says what to do, and the retry it names must finish the
 * purge with every file accounted for once (those the failed attempt removed as already gone). A real
 * folder; an in-memory stand-in for PostgreSQL.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalStore } from '../../../src/activities/lib/backup-store';
import { manifestName, purgeProgressName, writeManifestOnce } from '../../../src/activities/manifest';
import { loadedTarget } from '../../support/target-config';
import { diskFile, writeDiskFiles } from '../../support/disk-layout';
import { purgeDeps, purgeOnce } from '../../support/purge-deps';

const RUN = 'run-1';
const KEYS = Array.from({ length: 40 }, (_, i) => `k${String(i).padStart(2, '0')}abcdefghij`);
let dir: string;
let root: string;
const inRoot = (k: string) => diskFile(root, k);

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-unit-record-unwritable-'));
  root = path.join(dir, 'storage');
  writeDiskFiles(root, KEYS, (k) => `file ${k}`);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a progress record that cannot be written stops the purge with a retry that finishes it, every file counted once', async () => {
  const backups = path.join(dir, 'backups');
  const config = loadedTarget({
    database: { urlEnv: 'APP_DB' },
    backup: { dir: backups },
    storage: { services: { local: { kind: 'disk', root } }, pageSize: 10, concurrency: 1 },
  });
  await writeManifestOnce(new LocalStore(backups), manifestName('app', RUN), {
    target: 'app',
    runId: RUN,
    createdAt: new Date().toISOString(),
    blobs: KEYS.map((key) => ({ key, service: 'local', bytes: 10 })),
  });
  const deps = purgeDeps(config);
  const purge = () => purgeOnce(deps, RUN);
  // The record's .partial is a folder: opening it for writing fails (EISDIR), as a full or read-only disk would.
  const partial = path.join(backups, `${purgeProgressName('app', RUN)}.partial`);
  fs.mkdirSync(partial);
  await expect(purge()).rejects.toThrow(
    /Could not record the purge's progress at .*purge_progress_app_run-1\.json: .*EISDIR.*Check that the backup store is writable, then retry: the purge resumes from its last record/,
  );
  const left = KEYS.filter((k) => fs.existsSync(inRoot(k))).length;
  expect(left).toBeLessThan(KEYS.length); // it had deleted some before it stopped
  fs.rmdirSync(partial);
  const r = await purge();
  expect(KEYS.filter((k) => fs.existsSync(inRoot(k)))).toEqual([]);
  expect(r.deleted).toBe(left);
  expect(r.alreadyGone).toBe(KEYS.length - left);
});
