/**
 * A Disk service with storage.quarantine: the purge moves each file under
 * `<root>/.reset-quarantine/<run>/`, resumes from its progress record after a failure (an operator's
 * retry has no heartbeat), counts a file already missing as `missing` (named by root and key), and a
 * failure names the root, the file and the key. A real folder; an in-memory stand-in for PostgreSQL.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalStore } from '../../../src/activities/lib/backup-store';
import type { ActivityDeps } from '../../../src/activities/lib/target';
import { manifestName, writeManifestOnce } from '../../../src/activities/manifest';
import type { PurgeResult } from '../../../src/activities/storage';
import { loadedTarget } from '../../support/target-config';
import { diskFile, diskKeyPath, writeDiskFiles } from '../../support/disk-layout';
import { purgeDeps, purgeOnce } from '../../support/purge-deps';

const RUN = 'run-1';
const KEYS = Array.from({ length: 9 }, (_, i) => `k${i}abcdefghij`);
let dir: string;
let root: string;
let deps: ActivityDeps;

const inRoot = (k: string) => diskFile(root, k);
const inQuarantine = (k: string) => path.join(root, '.reset-quarantine', RUN, diskKeyPath(k));

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-unit-disk-q-'));
  root = path.join(dir, 'storage');
  writeDiskFiles(root, KEYS, (k) => `file ${k}`);
  const config = loadedTarget({
    database: { urlEnv: 'APP_DB' },
    backup: { dir: path.join(dir, 'backups') },
    storage: { services: { local: { kind: 'disk', root } }, pageSize: 2, concurrency: 1, quarantine: {} },
  });
  await writeManifestOnce(new LocalStore(path.join(dir, 'backups')), manifestName('app', RUN), {
    target: 'app',
    runId: RUN,
    createdAt: new Date().toISOString(),
    blobs: KEYS.map((key) => ({ key, service: 'local', bytes: 1 })),
  });
  deps = purgeDeps(config);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const attempt = (): Promise<PurgeResult> => purgeOnce(deps, RUN);

test('a failed move stops the purge naming root, file and key; the retry resumes from the record and moves each file once', async () => {
  // The 6th key's quarantine folder cannot be made: a file stands where the folder must go.
  const blocked = path.dirname(inQuarantine(KEYS[5]));
  fs.mkdirSync(path.dirname(blocked), { recursive: true });
  fs.writeFileSync(blocked, 'in the way');
  await expect(attempt()).rejects.toThrow(
    new RegExp(
      `Could not move 1 file\\(s\\) of the Disk service at ${root} to its quarantine folder .*, e\\.g\\. ${inRoot(KEYS[5])} \\(key ${KEYS[5]}\\)`,
    ),
  );
  // The batches before it went; the failing one's other key too; nothing after it.
  expect(KEYS.filter((k) => !fs.existsSync(inRoot(k)))).toEqual(KEYS.slice(0, 5));

  fs.rmSync(blocked);
  const r = await attempt();
  // Resumed, not restarted: a restart from key 0 would find the first five already moved (alreadyGone).
  expect(r).toMatchObject({ deleted: KEYS.length, alreadyGone: 0, missing: 0 });
  for (const k of KEYS)
    expect({ k, root: fs.existsSync(inRoot(k)), quarantined: fs.readFileSync(inQuarantine(k), 'utf8') }).toEqual({
      k,
      root: false,
      quarantined: `file ${k}`,
    });
});

test('a file already missing is counted and named, not fatal; a purge run again counts what it moved as already gone', async () => {
  fs.rmSync(inRoot(KEYS[2]));
  const r = await attempt();
  expect(r).toMatchObject({
    deleted: KEYS.length - 1,
    alreadyGone: 0,
    missing: 1,
    missingSample: [`${root}: ${KEYS[2]}`],
  });
  fs.rmSync(path.join(dir, 'backups', `purge_progress_app_${RUN}.json`));
  const again = await attempt();
  expect(again).toMatchObject({ deleted: 0, alreadyGone: KEYS.length - 1, missing: 1 });
});

test('a variant folder that fails after another of its chunk was moved, and after one of its own files: the retry counts every file once', async () => {
  const variant = (k: string) => path.join(root, 'va', 'ri', 'variants', k, 'thumb', 'v.png');
  const inQuarantineVariant = (k: string) =>
    path.join(root, '.reset-quarantine', RUN, 'va', 'ri', 'variants', k, 'thumb', 'v.png');
  for (const k of KEYS.slice(0, 2)) {
    fs.mkdirSync(path.dirname(variant(k)), { recursive: true });
    fs.writeFileSync(variant(k), `variant of ${k}`);
  }
  // In the failing folder, a file walked (in name order) before the one that fails.
  const first = path.join(root, 'va', 'ri', 'variants', KEYS[1], 'a.png');
  fs.writeFileSync(first, 'first');
  // The second folder's quarantine place is taken by a file: its move fails after the first one's went.
  const blocked = path.dirname(inQuarantineVariant(KEYS[1]));
  fs.mkdirSync(path.dirname(blocked), { recursive: true });
  fs.writeFileSync(blocked, 'in the way');
  await expect(attempt()).rejects.toThrow(new RegExp(`Could not move to .* the variants of key ${KEYS[1]}`));
  // The test means something only if the first folder, and the failing folder's first file, went before the failure.
  expect(fs.existsSync(variant(KEYS[0]))).toBe(false);
  expect(fs.existsSync(first)).toBe(false);
  expect(fs.existsSync(variant(KEYS[1]))).toBe(true);

  fs.rmSync(blocked);
  const r = await attempt();
  // Every key's file and the three variant files, though two went in the failed attempt.
  expect(r).toMatchObject({ deleted: KEYS.length + 3, variants: 3, alreadyGone: 0, missing: 0 });
  for (const k of KEYS.slice(0, 2)) expect(fs.readFileSync(inQuarantineVariant(k), 'utf8')).toBe(`variant of ${k}`);
});
