/**
 * Restoring from wherever the backup is, on the real stack: a reset whose backup went to the S3
 * destination is undone from the bucket (every table's rows back, no local copy left behind, no
 * credential in history); a tampered object is refused with nothing touched; a local backup that
 * another host wrote is refused with both hosts named, and restored by a worker of that host.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { tableChecksums } from '../../demo/generate';
import { progressQuery, restoreWorkflowId, type RestoreResult } from '../../src/contract';
import { approveAndFinish, completedReset, waitFor } from '../support/drive';
import { fixture, type ResetFixture } from '../support/fixture';
import { serverHistoryText } from '../support/history-text';

let f: ResetFixture;
jest.setTimeout(300_000);
afterEach(async () => {
  await f?.cleanup();
});

/**
 * Every table's md5 over its full rows, but the Solid Queue tables the running workers rewrite by themselves:
 * a started supervisor also releases the claims of processes that are gone (the restored rows name the
 * stopped ones), sooner or later depending on the machine's load.
 */
async function checksums(): Promise<Record<string, string>> {
  const all = await tableChecksums(f.dbUrl);
  const live = [
    'solid_queue_processes',
    'solid_queue_jobs',
    'solid_queue_ready_executions',
    'solid_queue_claimed_executions',
  ];
  for (const t of live) delete all[t];
  return all;
}

function s3(): S3Client {
  return new S3Client({ endpoint: f.endpoint, forcePathStyle: true, region: 'us-east-1' });
}

function s3Destination(prefix: string) {
  return {
    kind: 's3' as const,
    bucket: process.env.RR_S3_BUCKET!,
    prefix,
    endpoint: process.env.RR_S3_ENDPOINT!,
    forcePathStyle: true,
    region: 'us-east-1',
  };
}

async function refusal(p: Promise<unknown>): Promise<RestoreResult> {
  const err = (await p.then(
    () => undefined,
    (e) => e,
  )) as { cause?: { details?: unknown[] } } | undefined;
  expect(err).toBeDefined();
  return err!.cause!.details![0] as RestoreResult;
}

/** Folders an S3 restore may leave behind: its temporary copies. */
function leftCopies(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.startsWith(`rr-restore-${f.target}-`)) : [];
}

test('a reset backed up to S3 is restored from the bucket: every table’s rows back, no local copy left, no credential in history', async () => {
  const prefix = `rr-backups-${Math.random().toString(16).slice(2, 10)}/`;
  f = await fixture({ target: { backup: { destination: s3Destination(prefix) } } });
  expect(f.service('start')).toBe(0);
  const before = await checksums();
  await f.startWorker();
  const reset = (await completedReset(f)).r;
  const file = reset.backup!.files[0];
  expect(file.location).toMatchObject({ kind: 's3', bucket: f.bucket });
  // Nothing of the backup is on the worker's disk: the restore must read the bucket.
  expect(fs.existsSync(f.backupDir) ? fs.readdirSync(f.backupDir).filter((n) => n.endsWith('.dump')) : []).toEqual([]);
  expect(await f.count('customers')).toBe(0);

  const h = await f.startRestore();
  const waiting = await waitFor(h, (p) => p.phase === 'awaiting-approval');
  expect(waiting.restorePlan?.checksumsOk).toBe(true);
  expect(waiting.restorePlan?.errors).toEqual([]);
  const r = (await approveAndFinish(h as never, f.dbName)) as unknown as RestoreResult;
  expect(r.outcome).toBe('completed');
  expect(r.verify?.ok).toBe(true);
  expect(await checksums()).toEqual(before);
  expect(leftCopies(f.backupDir)).toEqual([]);
  expect(leftCopies(os.tmpdir())).toEqual([]);

  // The worker's S3 secret key reached neither the results nor the history; the control string (the
  // bucket key, which must be there) proves the search can hit.
  const history = serverHistoryText(restoreWorkflowId(f.target), h.firstExecutionRunId);
  expect(history).toContain((file.location as { key: string }).key);
  expect(history).not.toContain(`s3-${f.secret}`);
  expect(history).not.toContain(f.secret);
});

test('a tampered S3 backup object is refused: checksum mismatch, nothing touched', async () => {
  const prefix = `rr-backups-${Math.random().toString(16).slice(2, 10)}/`;
  f = await fixture({ target: { backup: { destination: s3Destination(prefix) } } });
  expect(f.service('start')).toBe(0);
  await f.startWorker();
  const reset = (await completedReset(f)).r;
  const loc = reset.backup!.files[0].location as { bucket: string; key: string };
  const client = s3();
  const bytes = Buffer.from(
    await (await client.send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }))).Body!.transformToByteArray(),
  );
  bytes[Math.floor(bytes.length / 2)] ^= 0xff;
  await client.send(new PutObjectCommand({ Bucket: loc.bucket, Key: loc.key, Body: bytes }));
  client.destroy();
  const afterReset = await checksums();

  const h = await f.startRestore();
  const r = await refusal(h.result());
  expect(r.outcome).toBe('rejected');
  expect(r.endReason).toBe('refused');
  expect(r.message).toContain(`s3://${loc.bucket}/${loc.key}`);
  expect(r.message).toMatch(/does not match its record/);
  expect(r.workers?.status).toBe('untouched');
  expect(await checksums()).toEqual(afterReset);
  expect(f.service('status')).toBe(0);
  const p = await h.query(progressQuery);
  expect(p.steps.find((s) => s.name === 'restore')?.status).toBe('skipped');
  expect(leftCopies(f.backupDir)).toEqual([]);
});

test('a local backup written on another host is refused with both hosts named; a worker of that host restores it', async () => {
  const hostADir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-host-a-'));
  const backupDir = path.join(hostADir, 'backups');
  f = await fixture({ target: { backupDir } });
  expect(f.service('start')).toBe(0);
  const before = await checksums();
  const hostA = await f.startWorker({ RESET_RUNBOOK_HOST: 'ops-a.example' });
  const reset = (await completedReset(f)).r;
  const file = reset.backup!.files[0];
  expect(file.location).toEqual({ kind: 'local', path: file.path, host: 'ops-a.example' });
  await hostA.kill('SIGTERM');

  // Host B: the same targets file, but host A's folder is not on its disk.
  const hidden = `${hostADir}-elsewhere`;
  fs.renameSync(hostADir, hidden);
  const hostB = await f.startWorker({ RESET_RUNBOOK_HOST: 'ops-b.example' });
  const afterReset = await checksums();
  const r = await refusal(f.startRestore().then((h) => h.result()));
  expect(r.outcome).toBe('rejected');
  expect(r.endReason).toBe('refused');
  expect(r.message).toContain(
    `The backup file ${file.path} (database "primary") of target "${f.target}" was written on host "ops-a.example", and this worker runs on host "ops-b.example"`,
  );
  expect(r.message).toContain('Run the restore with a worker on host "ops-a.example"');
  expect(r.message).not.toMatch(/does not match its record/);
  expect(await checksums()).toEqual(afterReset);

  // What the message says to do: a worker on host A (its folder there again) runs the restore.
  await hostB.kill('SIGTERM');
  fs.renameSync(hidden, hostADir);
  await f.startWorker({ RESET_RUNBOOK_HOST: 'ops-a.example' });
  const h = await f.startRestore();
  const done = (await approveAndFinish(h as never, f.dbName)) as unknown as RestoreResult;
  expect(done.outcome).toBe('completed');
  expect(await checksums()).toEqual(before);
  fs.rmSync(hostADir, { recursive: true, force: true });
});

test('a local backup missing on the host that wrote it is unreadable, not damaged', async () => {
  f = await fixture();
  expect(f.service('start')).toBe(0);
  await f.startWorker({ RESET_RUNBOOK_HOST: 'ops-a.example' });
  const reset = (await completedReset(f)).r;
  const file = reset.backup!.files[0];
  fs.rmSync(file.path);
  const r = await refusal(f.startRestore().then((h) => h.result()));
  expect(r.endReason).toBe('refused');
  expect(r.message).toContain(
    `The backup file ${file.path} (database "primary") of target "${f.target}" cannot be read on this worker (host "ops-a.example"): there is no such file (ENOENT)`,
  );
  expect(r.message).not.toMatch(/does not match its record|written on host/);
});
