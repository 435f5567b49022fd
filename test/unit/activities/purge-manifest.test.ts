/**
 * The purge over a streamed manifest, on a Disk service (a real folder; an in-memory stand-in for
 * PostgreSQL): it removes the dropped blobs' files and their untracked variants and nothing else, from
 * a manifest in either format; it resumes a variants phase recorded by the purge before (a folder name,
 * not a row index); and a damaged manifest stops it before its first deletion.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalStore } from '../../../src/activities/lib/backup-store';
import type { ActivityDeps } from '../../../src/activities/lib/target';
import { manifestName, purgeProgressName, writeManifestOnce } from '../../../src/activities/manifest';
import type { PurgeResult } from '../../../src/activities/storage';
import { loadedTarget } from '../../support/target-config';
import { diskFile, writeDiskFiles } from '../../support/disk-layout';
import { purgeDeps, purgeOnce } from '../../support/purge-deps';

const RUN = 'run-1';
const KEYS = Array.from({ length: 12 }, (_, i) => `k${String(i).padStart(2, '0')}abcdefgh`);
const RESEEDED = KEYS[4]; // the seeds made a blob with this key again: its file stays
const WITH_VARIANTS = [KEYS[1], KEYS[4], KEYS[7], KEYS[10]];
let dir: string;
let root: string;
let backups: string;
let deps: ActivityDeps;

const inRoot = (k: string) => diskFile(root, k);
const variants = (k: string) => path.join(root, 'va', 'ri', 'variants', k);
const manifestFile = () => path.join(backups, manifestName('app', RUN));
const blobs = () => KEYS.map((key) => ({ key, service: 'local', bytes: 3 }));

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-unit-purge-manifest-'));
  root = path.join(dir, 'storage');
  backups = path.join(dir, 'backups');
  writeDiskFiles(root, KEYS, () => 'abc');
  for (const k of WITH_VARIANTS) {
    fs.mkdirSync(path.join(variants(k), 'd1'), { recursive: true });
    fs.writeFileSync(path.join(variants(k), 'd1', 'thumb'), 'vv');
  }
  // An orphan from before the reset and another application's folder: never ours.
  fs.mkdirSync(variants('orphan123'), { recursive: true });
  fs.writeFileSync(path.join(variants('orphan123'), 'x'), 'o');
  const config = loadedTarget({
    database: { urlEnv: 'APP_DB' },
    backup: { dir: backups },
    storage: { services: { local: { kind: 'disk', root } }, pageSize: 3, concurrency: 2 },
  });
  deps = purgeDeps(config, { blobsNow: [{ key: RESEEDED, service: 'local', bytes: '3' }] });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const attempt = (): Promise<PurgeResult> => purgeOnce(deps, RUN);

const left = () => KEYS.filter((k) => fs.existsSync(inRoot(k)));
const variantsLeft = () => fs.readdirSync(path.join(root, 'va', 'ri', 'variants')).sort();

test.each([
  [
    'version 2 (JSON lines)',
    () =>
      writeManifestOnce(new LocalStore(backups), manifestName('app', RUN), {
        target: 'app',
        runId: RUN,
        createdAt: '',
        blobs: blobs(),
      }),
  ],
  [
    'version 1 (one document, as written before)',
    async () => {
      fs.mkdirSync(backups, { recursive: true });
      fs.writeFileSync(
        manifestFile(),
        JSON.stringify({ target: 'app', runId: RUN, createdAt: '', blobs: blobs().reverse() }),
      );
    },
  ],
])(
  'a manifest in %s: the dropped files and their variants go; the re-seeded key and the orphan stay',
  async (_, write) => {
    await write();
    const r = await attempt();
    expect(left()).toEqual([RESEEDED]);
    expect(variantsLeft()).toEqual([RESEEDED, 'orphan123'].sort());
    // 11 files, and 3 variant files (the re-seeded key's stays).
    expect(r).toMatchObject({ deleted: 11 + 3, bytes: 11 * 3 + 3 * 2, keptReferenced: 1, alreadyGone: 0, missing: 0 });
  },
);

test('a variants phase recorded by the purge before (a Disk folder name, no row index) resumes after that folder', async () => {
  fs.mkdirSync(backups, { recursive: true });
  fs.writeFileSync(manifestFile(), JSON.stringify({ target: 'app', runId: RUN, createdAt: '', blobs: blobs() }));
  // Its keys phase finished, and its variants phase got past KEYS[1]'s folder before it stopped. That
  // folder is left in place here to see that the resume skips it (a restart from the first row would not).
  for (const k of KEYS) if (k !== RESEEDED) fs.rmSync(inRoot(k));
  const position = {
    v: 2,
    service: 'local',
    phase: 'variants',
    index: KEYS.length,
    skip: [],
    variantsAfter: KEYS[1],
    deleted: 12,
    bytes: 35,
  };
  fs.writeFileSync(
    path.join(backups, purgeProgressName('app', RUN)),
    JSON.stringify({ target: 'app', runId: RUN, updatedAt: '', position }),
  );
  const r = await attempt();
  expect(variantsLeft()).toEqual([KEYS[1], RESEEDED, 'orphan123'].sort());
  expect(r).toMatchObject({ deleted: 12 + 2, alreadyGone: 0, missing: 0 }); // KEYS[7] and KEYS[10]'s variants
});

test.each([
  ['cut short', (t: string) => t.slice(0, Math.floor(t.length * 0.8)), /cut short/],
  ['a key changed', (t: string) => t.replace(KEYS[9], KEYS[9].toUpperCase()), /SHA-256/],
])('a manifest %s deletes nothing and says why', async (_, damage, why) => {
  await writeManifestOnce(new LocalStore(backups), manifestName('app', RUN), {
    target: 'app',
    runId: RUN,
    createdAt: '',
    blobs: blobs(),
  });
  fs.writeFileSync(manifestFile(), damage(fs.readFileSync(manifestFile(), 'utf8')));
  const err = (await attempt().catch((e: unknown) => e)) as Error & { type?: string };
  expect(err.type).toBe('ManifestDamaged');
  expect(err.message).toContain(manifestFile());
  expect(err.message).toMatch(why);
  expect(left()).toEqual(KEYS);
  expect(variantsLeft()).toEqual([...WITH_VARIANTS, 'orphan123'].sort());
});
