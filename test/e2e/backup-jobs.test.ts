/**
 * backup.jobs: 2 on the real stack (pg_dump -Fd -j 2, pg_restore, moto, a local folder): the backup is
 * a dump folder in backup.dir, or ONE tar object in the S3 destination, recorded with its format; a
 * reset then the restore command the tool prints, run as printed (the CLI binary, the database's name
 * typed on stdin), brings every table back to the same checksums. The S3 variant also runs the restore
 * drill (backup.verify "restore"), which restores the unpacked folder with `pg_restore -j 2`.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { tableChecksums } from '../../demo/generate';
import { renderResult } from '../../src/cli/render-ending';
import { run } from '../cli/harness';
import { abortSignal, type BackupFile, type ResetResult } from '../../src/contract';
import { approveWhenAsked, waitFor } from '../support/drive';
import { fixture, type ResetFixture } from '../support/fixture';
import { stackEnv } from '../support/stack-env';
import { REPO_ROOT } from '../support/temporal';

let f: ResetFixture;
jest.setTimeout(300_000);
afterEach(async () => {
  await f?.cleanup();
});

/** Every table's full rows but the queue's (the stand-in Solid Queue service rewrites them every second). */
async function checksums(): Promise<Record<string, string>> {
  const all = await tableChecksums(f.dbUrl);
  return Object.fromEntries(Object.entries(all).filter(([t]) => !t.startsWith('solid_queue_')));
}

/**
 * The restore by hand that docs/operators/configure.md gives, `pg_restore -j 2` of the folder (an S3
 * object first unpacked by `tar -x`), into a new database: its tables' checksums.
 */
async function handRestore(bf: BackupFile): Promise<Record<string, string>> {
  const env = stackEnv();
  const hand = `${f.dbName}_hand`;
  const url = new URL(f.dbUrl);
  url.pathname = `/${hand}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-hand-'));
  await f.sql(`CREATE DATABASE ${hand}`);
  try {
    let dir = bf.path;
    if (bf.location?.kind === 's3') {
      dir = tmp;
      const s3 = new S3Client({ endpoint: f.endpoint, forcePathStyle: true, region: 'us-east-1' });
      const got = await s3.send(new GetObjectCommand({ Bucket: bf.location.bucket, Key: bf.location.key }));
      const tar = spawn('tar', ['-x', '-C', dir], { stdio: ['pipe', 'inherit', 'inherit'] });
      (got.Body as Readable).pipe(tar.stdin);
      expect(await new Promise((resolve) => tar.on('close', resolve))).toBe(0);
    }
    execFileSync(path.join(env.pgBin, 'pg_restore'), ['-j', '2', '--no-owner', '--exit-on-error', '-d', hand, dir], {
      env: { ...process.env, PGHOST: '127.0.0.1', PGPORT: String(env.pgPort), PGUSER: 'postgres' },
    });
    const all = await tableChecksums(url.toString());
    return Object.fromEntries(Object.entries(all).filter(([t]) => !t.startsWith('solid_queue_')));
  } finally {
    await f.sql(`DROP DATABASE IF EXISTS ${hand} WITH (FORCE)`);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Runs `reset-runbook …` exactly as the ending printed it, typing the database's name when asked. */
async function runPrinted(printed: string) {
  const [bin, ...args] = printed.split(' ');
  expect(bin).toBe('reset-runbook');
  return run(path.join(REPO_ROOT, 'bin', 'reset-runbook'), args, {
    env: { ...(f.workerEnv as Record<string, string>), NO_COLOR: '1', RESET_RUNBOOK_POLL_MS: '300' },
    input: `${f.dbName}\n`,
    timeoutMs: 240_000,
  });
}

/** The result an aborted run carries in its failure's details. */
async function endingOf(p: Promise<unknown>): Promise<ResetResult> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  for (let c = err as { details?: unknown[]; cause?: unknown } | undefined; c; c = c.cause as typeof c)
    if (c.details?.length) return c.details[0] as ResetResult;
  throw new Error(`the run did not end with a result in its failure: ${String(err)}`);
}

type Variant = 'local folder' | 'S3 destination';

test.each<Variant>(['local folder', 'S3 destination'])(
  'backup.jobs 2 to the %s: a -Fd dump recorded as "directory", and the printed restore brings every table back',
  async (v) => {
    const prefix = 'jobs-backups/';
    f = await fixture({ scale: 2, seeds: 'command' });
    const file = JSON.parse(fs.readFileSync(f.targetsFile, 'utf8'));
    const t = file.targets[f.target];
    // Seeds that fail after the TRUNCATE committed: the path on which the tool prints its restore command.
    t.seeds = { command: ['sh', '-c', 'echo seeding failed >&2; exit 3'], timeoutSeconds: 60 };
    t.timing = { ...(t.timing ?? {}), maximumAttempts: 1 };
    const b = t.backup;
    b.jobs = 2;
    if (v === 'S3 destination') {
      delete b.dir;
      b.verify = 'restore';
      b.destination = {
        kind: 's3',
        bucket: f.bucket,
        prefix: `${prefix}${f.id}/`,
        endpoint: f.endpoint,
        forcePathStyle: true,
        region: 'us-east-1',
      };
    }
    fs.writeFileSync(f.targetsFile, JSON.stringify(file, null, 2));
    expect(f.service('start')).toBe(0);
    await f.startWorker();
    const before = await checksums();
    expect(Object.keys(before).length).toBeGreaterThan(5);

    const h = await f.start({ mode: 'execute' });
    await approveWhenAsked(h, f.dbName);
    await waitFor(h, (p) => p.phase === 'waiting-for-operator', 180_000);
    await h.signal(abortSignal, { by: 'jest', reason: 'seeds broken' });
    const reset = await endingOf(h.result());
    expect(reset.outcome).toBe('aborted');
    expect(await f.count('customers')).toBe(0);
    const [bf] = reset.backup!.files;
    expect(bf).toMatchObject({ format: 'directory', jobs: 2 });
    if (v === 'local folder') {
      // The folder itself, as pg_dump -Fd wrote it: toc.dat and one file per table.
      expect(bf.path.startsWith(f.backupDir)).toBe(true);
      expect(fs.statSync(bf.path).isDirectory()).toBe(true);
      expect(fs.readdirSync(bf.path)).toContain('toc.dat');
    } else {
      // ONE object holds the whole dump; the record beside it. The drill restored it in parallel.
      const names = [...(await f.objects(`${prefix}${f.id}/`)).keys()].map((k) => path.posix.basename(k));
      expect(names.filter((n) => n.endsWith('.dump'))).toEqual([path.posix.basename(bf.path)]);
      expect(names.filter((n) => /^backup_pre_reset_.*\.json$/.test(n))).toHaveLength(1);
      expect(reset.backup!.drill).toMatchObject({ equal: true });
    }

    // The documented restore by hand: the backup as stored, pg_restore -j 2, the same rows.
    expect(await handRestore(bf)).toEqual(before);

    const printed = /Undo this reset with: (.+)$/m.exec(renderResult(reset))?.[1];
    expect(printed).toBe(`reset-runbook restore ${f.target} --run ${h.firstExecutionRunId}`);
    const restored = await runPrinted(printed!);
    expect({ code: restored.code, out: restored.code === 0 ? '' : restored.stdout + restored.stderr }).toEqual({
      code: 0,
      out: '',
    });
    expect(await checksums()).toEqual(before);
  },
);
