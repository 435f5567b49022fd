/**
 * The plan proves the undo before anything is touched: the quarantine bucket and the backup store take
 * a write (a probe object, removed again), or the run is refused at the plan naming the bucket; and the
 * plan (its result, `plan` text and `--json`, the Web UI's step details) says whether the purged files
 * can come back. Real Temporal, PostgreSQL, moto S3 (through a request log) and the CLI.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { abortSignal, progressQuery, type Plan } from '../../src/contract';
import { waitFor } from '../support/drive';
import { run } from '../cli/harness';
import { fixture, type ResetFixture } from '../support/fixture';
import { startS3RequestLog, type S3RequestLog } from '../support/s3-request-log';
import { REPO_ROOT } from '../support/temporal';

jest.setTimeout(300_000);
let f: ResetFixture;
let log: S3RequestLog | undefined;
afterEach(async () => {
  await f?.cleanup();
  await log?.close();
  log = undefined;
});

const CLI = path.join(REPO_ROOT, 'bin', 'reset-runbook');
const cli = (args: string[]) =>
  run(CLI, args, {
    env: { ...(f.workerEnv as Record<string, string>), NO_COLOR: '1', RESET_RUNBOOK_POLL_MS: '300' },
    timeoutMs: 180_000,
  });

/** Edits the fixture's targets file (the worker reads it when it starts). */
function editTarget(edit: (t: Record<string, any>) => void): void {
  const file = JSON.parse(fs.readFileSync(f.targetsFile, 'utf8'));
  edit(file.targets[f.target]);
  fs.writeFileSync(f.targetsFile, JSON.stringify(file, null, 2));
}

async function plan(): Promise<Plan> {
  return (await (await f.start({ mode: 'plan' })).result()).plan!;
}

/** What a refused run must leave as it was: rows, objects and backups. */
async function untouched() {
  return {
    customers: await f.count('customers'),
    users: await f.count('users'),
    blobs: await f.count('active_storage_blobs'),
    objects: (await f.objects()).size,
    backups: fs.existsSync(f.backupDir) ? fs.readdirSync(f.backupDir).length : 0,
  };
}

test('a quarantine bucket that does not exist is a plan error naming it; the execute run is refused with nothing touched', async () => {
  f = await fixture();
  const missing = `no-such-quarantine-${f.id}`;
  editTarget((t) => (t.storage.quarantine = { bucket: missing, days: 30 }));
  expect(f.service('start')).toBe(0);
  await f.startWorker();
  const before = await untouched();

  const p = await plan();
  const error = p.errors.find((e) => e.includes('quarantine'));
  expect(error).toMatch(
    new RegExp(
      `^the quarantine bucket ${missing} \\(storage\\.quarantine, reached with the settings of service amazon\\) cannot be written: PutObject ${missing}/reset-quarantine/reset-runbook-plan-probe-[0-9a-f-]+ failed: NoSuchBucket: The specified bucket does not exist`,
    ),
  );

  const err = await (await f.start({ mode: 'execute' })).result().catch((e) => e);
  expect(err.cause?.type).toBe('ResetRefused');
  expect(err.cause?.message).toMatch(/nothing was touched/);
  expect(err.cause?.message).toContain(`the quarantine bucket ${missing}`);
  expect(await untouched()).toEqual(before);
  expect(before.customers).toBeGreaterThan(0);

  // The CLI's plan says it too, and exits 1.
  const text = await cli(['plan', f.target]);
  expect(text.code).toBe(1);
  expect(text.stdout).toContain(`✖ the quarantine bucket ${missing}`);
});

test('a backup destination bucket that does not exist is a plan error naming it', async () => {
  f = await fixture();
  const missing = `no-such-backups-${f.id}`;
  editTarget(
    (t) =>
      (t.backup = {
        destination: {
          kind: 's3',
          bucket: missing,
          prefix: 'rr/',
          endpoint: f.endpoint,
          forcePathStyle: true,
          region: 'us-east-1',
        },
      }),
  );
  await f.startWorker();
  const p = await plan();
  expect(p.errors.join('\n')).toMatch(
    new RegExp(
      `the backup destination bucket ${missing} \\(backup\\.destination\\) cannot be written: PutObject ${missing}/rr/reset-runbook-plan-probe-[0-9a-f-]+ failed: NoSuchBucket: The specified bucket does not exist`,
    ),
  );
});

test('with storage.quarantine the plan says tables and files can come back, writes its probe and removes it; without, it says the files are deleted for good', async () => {
  log = await startS3RequestLog(process.env.RR_S3_ENDPOINT!);
  f = await fixture({ target: { endpoint: log.endpoint } });
  const prefix = `quarantine-${f.id}/`;
  editTarget((t) => (t.storage.quarantine = { bucket: f.bucket, prefix, days: 30 }));
  const worker = await f.startWorker();

  const p = await plan();
  expect(p.errors).toEqual([]);
  expect(p.undo).toEqual({
    tables: true,
    files: 'quarantined',
    quarantineDays: 30,
    cannotComeBack: [],
    summary: 'tables and files can come back (quarantine kept 30 days)',
  });
  // The probe was written under the quarantine prefix and deleted; nothing is left there.
  const probes = log.requests.filter((r) => r.path.startsWith(`/${f.bucket}/${prefix}reset-runbook-plan-probe-`));
  expect(probes.map((r) => r.method)).toEqual(['PUT', 'DELETE']);
  expect(probes[0].path).toBe(probes[1].path);
  expect((await f.objects(prefix)).size).toBe(0);

  // The plan's text, its --json, and the Web UI's details of the plan step.
  const text = await cli(['plan', f.target]);
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(/^undo: tables and files can come back \(quarantine kept 30 days\)$/m);
  const json = await cli(['plan', f.target, '--json']);
  expect(JSON.parse(json.stdout).plan.undo.summary).toBe('tables and files can come back (quarantine kept 30 days)');
  expect((await f.objects(prefix)).size).toBe(0);

  // The approval prompt says it right before the database's name is asked for (no name typed: the run keeps waiting).
  const run = await f.start({ mode: 'execute' });
  await waitFor(run, (x) => x.phase === 'awaiting-approval');
  const asked = await cli(['approve', run.workflowId]);
  expect(asked.code).toBe(3);
  expect(asked.stderr).toMatch(
    /\nundo: tables and files can come back \(quarantine kept 30 days\)\nType the database name/,
  );
  await run.signal(abortSignal, { reason: 'test over' });
  await run.result().catch(() => undefined);

  // Without storage.quarantine: nothing is probed there, and the plan says what cannot come back.
  await worker.kill('SIGTERM');
  editTarget((t) => delete t.storage.quarantine);
  await f.startWorker();
  const h = await f.start({ mode: 'plan' });
  const q = (await h.result()).plan!;
  const blobs = q.objectsToDelete.count;
  const amazonBlobs = Number(
    (await f.sql<{ n: string }>(`SELECT count(*) AS n FROM active_storage_blobs WHERE service_name = 'amazon'`))[0].n,
  );
  const lost = `files of service amazon (S3, bucket ${f.bucket}; ${amazonBlobs} blobs) are deleted for good: no storage.quarantine`;
  expect(blobs).toBeGreaterThan(0);
  expect(q.undo).toEqual({
    tables: true,
    files: 'not-quarantined',
    cannotComeBack: [lost],
    summary: `tables can come back (the backup), but ${lost}`,
  });
  const details = (await h.query(progressQuery)).steps.find((s) => s.name === 'plan')!.detail;
  expect(details).toContain(`undo: tables can come back (the backup), but ${lost}`);
  const text2 = await cli(['plan', f.target]);
  expect(text2.stdout).toContain(`undo: tables can come back (the backup), but ${lost}`);
  const json2 = JSON.parse((await cli(['plan', f.target, '--json'])).stdout);
  expect(json2.plan.undo.cannotComeBack).toEqual([lost]);
});
