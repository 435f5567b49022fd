/**
 * The purge (step 4) resumes from its heartbeat: killed after some deletes, the next attempt starts
 * from the last heartbeat's details and deletes each remaining doomed object once, and never touches a
 * kept one. No stack: MockActivityEnvironment for the activity context, an in-memory S3 and a stand-in
 * PostgreSQL injected through ActivityDeps (lib/deps.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { LocalStore } from '../../../src/activities/lib/backup-store';
import type { ActivityDeps } from '../../../src/activities/lib/target';
import { manifestName, writeManifestOnce } from '../../../src/activities/manifest';
import { createStorageActivities } from '../../../src/activities/storage';
import type { TargetConfig } from '../../../src/config/types';
import { loadedTarget } from '../../support/target-config';
import type { HeartbeatProgress } from '../../../src/contract';
import { FakeS3 } from '../../support/fake-s3';
import { purgeDeps } from '../../support/purge-deps';

const BUCKET = 'app-storage';
const PREFIX = 'app/';
const RUN = 'run-1';
const DROPPED = ['b01', 'b02', 'b03', 'b04', 'b05', 'b06', 'b07', 'b08', 'b09', 'b10'];
const RESEEDED = 'seed-logo'; // dropped by the TRUNCATE, re-created by the seeds with the same key

/** The objects the purge must delete: the dropped blobs' files and their untracked variants. */
const DOOMED = [
  ...DROPPED.map((k) => `${PREFIX}${k}`),
  `${PREFIX}variants/b02/thumb.png`,
  `${PREFIX}variants/b07/resize/x.jpg`,
];
/** Everything else: a re-seeded blob and its variant, look-alikes, orphans from before, another prefix. */
const KEPT = [
  `${PREFIX}${RESEEDED}`,
  `${PREFIX}variants/${RESEEDED}/thumb.png`,
  `${PREFIX}b1`,
  `${PREFIX}b01.bak`,
  `${PREFIX}b010`,
  `${PREFIX}x/b04`,
  `${PREFIX}variants/b0/thumb.png`,
  `${PREFIX}variantsb03`,
  `${PREFIX}orphan-before-the-reset`,
  'other-app/b03',
  'b05',
];

let dir: string;
let s3: FakeS3;
let deps: ActivityDeps;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-unit-purge-'));
  const config: TargetConfig = loadedTarget({
    database: { urlEnv: 'APP_DB' },
    backup: { dir },
    storage: { services: { amazon: { bucket: BUCKET, prefix: PREFIX } }, pageSize: 3 },
  });
  // The manifest the reset step wrote before its TRUNCATE.
  await writeManifestOnce(new LocalStore(dir), manifestName('app', RUN), {
    target: 'app',
    runId: RUN,
    createdAt: new Date().toISOString(),
    // byte_size as the blob row says it: the object's size (the fake stores each object as its key's bytes).
    blobs: [...DROPPED, RESEEDED].map((key) => ({
      key,
      service: 'amazon',
      bytes: Buffer.byteLength(`${PREFIX}${key}`),
    })),
  });
  s3 = new FakeS3();
  for (const k of [...DOOMED, ...KEPT]) s3.put(BUCKET, k);
  // After the seeds, the blob table holds only the re-seeded blob.
  deps = purgeDeps(config, { blobsNow: [{ key: RESEEDED, service: 'amazon', bytes: '10' }], s3: () => s3.client() });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function attempt(heartbeatDetails?: HeartbeatProgress) {
  // The failures are expected: the SDK's WARN line for each would only be noise.
  const env = new MockActivityEnvironment(heartbeatDetails ? { heartbeatDetails, attempt: 2 } : undefined, {
    logger: new DefaultLogger('ERROR'),
  });
  const beats: HeartbeatProgress[] = [];
  env.on('heartbeat', (d: HeartbeatProgress | undefined) => d && beats.push(d));
  const purge = createStorageActivities(deps).purgeStorage;
  return { beats, result: env.run(purge, { target: 'app', runId: RUN, expectedObjects: DOOMED.length }) };
}

test('killed after some deletes, the next attempt resumes from the heartbeat: each doomed object deleted once, no kept one touched', async () => {
  // The first attempt dies (S3 goes away) once 5 objects are gone: a delete after that fails.
  let failed = false;
  s3.beforeSend = (call) => {
    const deleted = [...s3.deletes.values()].reduce((a, n) => a + n, 0);
    if (!failed && call.op.startsWith('Delete') && deleted >= 5) {
      failed = true;
      throw new Error('connect ECONNREFUSED (injected)');
    }
  };
  const first = attempt();
  await expect(first.result).rejects.toThrow(/ECONNREFUSED \(injected\)/);
  const goneAfterFirst = DOOMED.filter((k) => !s3.has(BUCKET, k));
  // The test means something only if the first attempt stopped part-way.
  expect(goneAfterFirst.length).toBeGreaterThanOrEqual(5);
  expect(goneAfterFirst.length).toBeLessThan(DOOMED.length);
  const last = first.beats[first.beats.length - 1];
  expect(last?.position).toBeDefined();

  const second = attempt(last);
  const r = await second.result;

  for (const k of DOOMED) {
    expect({ key: k, present: s3.has(BUCKET, k), deletes: s3.deletedCount(BUCKET, k) }).toEqual({
      key: k,
      present: false,
      deletes: 1,
    });
  }
  for (const k of KEPT) {
    expect({
      key: k,
      present: s3.has(BUCKET, k),
      touched: s3.touched(BUCKET, k).filter((c) => c.op !== 'HeadObject'),
    }).toEqual({ key: k, present: true, touched: [] });
  }
  expect(r).toMatchObject({ deleted: DOOMED.length, variants: 2, keptReferenced: 1 });
});

test('without a heartbeat to resume from, a completed purge deletes exactly the doomed objects', async () => {
  const r = await attempt().result;
  expect(s3.keys(BUCKET)).toEqual([...KEPT].sort());
  expect(r).toMatchObject({
    deleted: DOOMED.length,
    // Of them, the untracked variants the plan's count (blobs only) leaves out.
    variants: 2,
    bytes: DOOMED.reduce((a, k) => a + Buffer.byteLength(k), 0),
    keptReferenced: 1,
  });
  for (const k of DOOMED) expect(s3.deletedCount(BUCKET, k)).toBe(1);
});

test('killed between two variants, the resumed purge still counts both: the count travels in the position', async () => {
  // One object a call, so the first variant can go and the second fail.
  const config = deps.targets.targets.app;
  config.storage!.pageSize = 1;
  let failed = false;
  s3.beforeSend = (call) => {
    const variantsGone = DOOMED.filter((k) => k.includes('/variants/') && !s3.has(BUCKET, k)).length;
    if (!failed && call.op.startsWith('Delete') && variantsGone === 1) {
      failed = true;
      throw new Error('connect ECONNREFUSED (injected)');
    }
  };
  const first = attempt();
  await expect(first.result).rejects.toThrow(/ECONNREFUSED \(injected\)/);
  const last = first.beats[first.beats.length - 1];
  // The test means something only if the first attempt stopped between the two.
  expect(JSON.parse(last.position!)).toMatchObject({ phase: 'variants', variantsDeleted: 1 });

  const r = await attempt(last).result;
  expect(r).toMatchObject({ deleted: DOOMED.length, variants: 2 });
  for (const k of DOOMED) expect(s3.deletedCount(BUCKET, k)).toBe(1);
});

test('a missing manifest deletes nothing and says why', async () => {
  fs.rmSync(path.join(dir, manifestName('app', RUN)));
  await expect(attempt().result).rejects.toThrow(
    /manifest .* is missing; without it no object can be proven orphaned. Nothing was deleted/,
  );
  expect(s3.calls.filter((c) => c.op.startsWith('Delete'))).toEqual([]);
});
