/**
 * The quarantined purge resumes from its progress record (beside the manifest), not only from a
 * heartbeat: an operator's retry is a new activity with no heartbeat details, and a heartbeat can be
 * throttled away. Copying to the quarantine is idempotent: an object already gone from the bucket but
 * in the quarantine counts as alreadyGone, one in neither place as missing; the counts add up across
 * attempts. No stack: MockActivityEnvironment, an in-memory S3 and a stand-in PostgreSQL.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { LocalStore } from '../../../src/activities/lib/backup-store';
import type { ActivityDeps } from '../../../src/activities/lib/target';
import { manifestName, purgeProgressName, writeManifestOnce } from '../../../src/activities/manifest';
import { createStorageActivities, type PurgeResult } from '../../../src/activities/storage';
import type { HeartbeatProgress } from '../../../src/contract';
import { loadedTarget } from '../../support/target-config';
import { FakeS3 } from '../../support/fake-s3';
import { purgeDeps } from '../../support/purge-deps';

const BUCKET = 'app-storage';
const QUARANTINE = 'app-quarantine';
const PREFIX = 'app/';
const RUN = 'run-1';
const DROPPED = Array.from({ length: 12 }, (_, i) => `b${String(i + 1).padStart(2, '0')}`);
const DOOMED = DROPPED.map((k) => `${PREFIX}${k}`);
const qKey = (key: string) => `reset-quarantine/${RUN}/amazon/${key}`;

let dir: string;
let s3: FakeS3;
let deps: ActivityDeps;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-unit-purge-record-'));
  const config = loadedTarget({
    database: { urlEnv: 'APP_DB' },
    backup: { dir },
    storage: {
      services: { amazon: { bucket: BUCKET, prefix: PREFIX } },
      pageSize: 3,
      concurrency: 1,
      quarantine: { bucket: QUARANTINE },
    },
  });
  await writeManifestOnce(new LocalStore(dir), manifestName('app', RUN), {
    target: 'app',
    runId: RUN,
    createdAt: new Date().toISOString(),
    blobs: DROPPED.map((key) => ({ key, service: 'amazon', bytes: Buffer.byteLength(`${PREFIX}${key}`) })),
  });
  s3 = new FakeS3();
  for (const k of DOOMED) s3.put(BUCKET, k, `content of ${k}`);
  deps = purgeDeps(config, { s3: () => s3.client() });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** One attempt of the activity; `heartbeatDetails` only where Temporal would pass them (a heartbeat timeout). */
function attempt(heartbeatDetails?: HeartbeatProgress) {
  const env = new MockActivityEnvironment(heartbeatDetails ? { heartbeatDetails, attempt: 2 } : undefined, {
    logger: new DefaultLogger('ERROR'),
  });
  const beats: HeartbeatProgress[] = [];
  env.on('heartbeat', (d: HeartbeatProgress | undefined) => d && beats.push(d));
  return {
    beats,
    result: env.run(createStorageActivities(deps).purgeStorage, {
      target: 'app',
      runId: RUN,
      expectedObjects: DOOMED.length,
    }) as Promise<PurgeResult>,
  };
}

/** CopyObject requests for a key, answered or not (a copy of a key already gone is a request too). */
const copiesOf = (key: string) =>
  s3.calls.filter((c) => c.op === 'CopyObject' && c.bucket === QUARANTINE && c.key === qKey(key)).length;
const recordFile = () => path.join(dir, purgeProgressName('app', RUN));

/** Fails the CopyObject of `key` (a non-timeout failure: S3 answers 500) until `healed()`. */
function failCopyOf(key: string) {
  let on = true;
  s3.beforeSend = (call, input) => {
    if (on && call.op === 'CopyObject' && String(input.CopySource).endsWith(`/${key}`))
      throw Object.assign(new Error('We encountered an internal error (injected)'), { name: 'InternalError' });
  };
  return { healed: () => (on = false) };
}

test('a retry after a non-timeout failure resumes from the record: no finished key is copied again, each object is quarantined once', async () => {
  const fault = failCopyOf(DOOMED[7]); // in the 3rd batch of 3
  const first = attempt();
  await expect(first.result).rejects.toThrow(
    new RegExp(
      `Could not copy s3://${BUCKET}/${DOOMED[7]} to the quarantine s3://${QUARANTINE}/${qKey(DOOMED[7])}: .*injected`,
    ),
  );
  expect(fs.existsSync(recordFile())).toBe(true);
  const doneFirst = DOOMED.filter((k) => !s3.has(BUCKET, k));
  expect(doneFirst).toEqual(DOOMED.slice(0, 6)); // two full batches, then the failing one

  fault.healed();
  const copiesBefore = new Map(DOOMED.map((k) => [k, copiesOf(k)]));
  const r = await attempt().result; // the operator's retry: a fresh activity, no heartbeat details

  for (const k of doneFirst) expect({ k, copies: copiesOf(k) }).toEqual({ k, copies: copiesBefore.get(k) });
  for (const k of DOOMED) {
    expect({
      k,
      source: s3.has(BUCKET, k),
      quarantined: s3.has(QUARANTINE, qKey(k)),
      deletes: s3.deletedCount(BUCKET, k),
    }).toEqual({ k, source: false, quarantined: true, deletes: 1 });
  }
  expect(s3.keys(QUARANTINE)).toHaveLength(DOOMED.length);
  expect(r).toMatchObject({ deleted: DOOMED.length, alreadyGone: 0, missing: 0 });
});

test('the record wins over an older heartbeat: resumed past what the heartbeat knew', async () => {
  const fault = failCopyOf(DOOMED[10]);
  const first = attempt();
  await expect(first.result).rejects.toThrow(/injected/);
  fault.healed();
  // A throttled heartbeat: the first position that got out, one batch in; the record is three batches in.
  const stale = first.beats.find((b) => b.position !== undefined)!;
  expect(JSON.parse(stale.position!).index).toBe(3);
  const between = DOOMED.slice(3, 9); // done after the stale heartbeat, before the failure
  const copiesBefore = between.map(copiesOf);
  const r = await attempt(stale).result;
  expect(between.map(copiesOf)).toEqual(copiesBefore);
  expect(r).toMatchObject({ deleted: DOOMED.length, alreadyGone: 0, missing: 0 });
});

test('objects an unrecorded attempt already quarantined count as alreadyGone, never twice and never fatal', async () => {
  const first = await attempt().result;
  expect(first).toMatchObject({ deleted: DOOMED.length, alreadyGone: 0, missing: 0 });
  // As if that attempt died before any record or heartbeat reached anyone: the next starts at key 0.
  fs.rmSync(recordFile());
  const r = await attempt().result;
  expect(r).toMatchObject({ deleted: 0, alreadyGone: DOOMED.length, missing: 0 });
  expect(r.deleted + r.alreadyGone + r.missing).toBe(DOOMED.length);
  for (const k of DOOMED) expect(s3.has(QUARANTINE, qKey(k))).toBe(true);
});

test('a blob whose object was already missing is counted as missing, named, and the purge completes', async () => {
  const gone = DOOMED[4];
  s3.drop(BUCKET, gone); // missing before the reset: in neither the bucket nor the quarantine
  const r = await attempt().result;
  expect(r).toMatchObject({
    deleted: DOOMED.length - 1,
    alreadyGone: 0,
    missing: 1,
    missingSample: [`s3://${BUCKET}/${gone}`],
  });
  expect(s3.has(QUARANTINE, qKey(gone))).toBe(false);
  for (const k of DOOMED.filter((x) => x !== gone)) expect(s3.has(QUARANTINE, qKey(k))).toBe(true);
  expect(s3.deletedCount(BUCKET, gone)).toBe(0);
});

test('an unreadable progress record stops the purge naming the file; deleting it, as the message says, lets it run again from the start', async () => {
  const first = attempt();
  await first.result;
  fs.writeFileSync(recordFile(), '{ not json');
  await expect(attempt().result).rejects.toThrow(`The purge progress record ${recordFile()} cannot be read`);
  const message = await attempt().result.then(
    () => '',
    (e: Error) => e.message,
  );
  expect(message).toContain('delete it to start the purge over from the first key');
  fs.rmSync(recordFile());
  const r = await attempt().result;
  expect(r).toMatchObject({ deleted: 0, alreadyGone: DOOMED.length, missing: 0 });
});
