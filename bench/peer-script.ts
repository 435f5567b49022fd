/**
 * The runbook (docs/runbook.md) as a script, the way a careful person would automate it without us:
 * pg_dump -Fc, stop the workers, read the keys of the blobs the TRUNCATE drops, TRUNCATE + seeds in
 * one psql transaction, DeleteObjects by key (1,000 a call) of those blobs' objects and their untracked
 * variants, start the workers, count the rows the runbook's step 6 checks. On ActiveStorage's Disk
 * service (`storageDir`) the purge unlinks each file by its path and removes the dropped blobs' variant
 * folders (one listing of `va/ri/variants/`), as `rm` in a loop would. Each step's seconds are kept
 * (`steps`), so that the whole run's steps compare one by one with ours.
 *
 * No approval, no retries, no crash-safety, no record of anything: the baseline our whole run is
 * compared with (bench/cases/run.ts). As a command, with the stack's environment:
 *   PEER_DATABASE_URL=… PEER_BUCKET=… PEER_BACKUP=/tmp/x.dump PEER_STOP='…' PEER_START='…' \
 *     node --require tsx/cjs bench/peer-script.ts
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { s3Client } from '../demo/lib/objects';
import { deleteByKey, pgDump, psqlTruncateAndSeed, tablesToTruncate } from './lib/peers';
import type { S3Client } from '@aws-sdk/client-s3';

export interface PeerScriptOptions {
  databaseUrl: string;
  pgBin: string;
  backupFile: string;
  /** Shell commands, as in the target's workers section. */
  stopCommand: string;
  startCommand: string;
  commandEnv: NodeJS.ProcessEnv;
  s3: S3Client;
  bucket: string;
  /** The Disk service's root: delete files there by path instead of objects in the bucket. */
  storageDir?: string;
}

/** The script's steps, named as ours (src/contract/steps.ts); it has no plan and no approval. */
export const PEER_STEPS = ['backup', 'stopWorkers', 'reset', 'purgeStorage', 'startWorkers', 'verify'] as const;
export type PeerStep = (typeof PEER_STEPS)[number];

export interface PeerScriptResult {
  seconds: number;
  /** From the stop command's start to the start command's end. */
  workersStoppedSeconds: number;
  objectsDeleted: number;
  counts: Record<string, number>;
  /** Seconds of each step, from the script's own timestamps. */
  steps: Record<PeerStep, number>;
}

/**
 * The script's purge on the Disk service: unlink <root>/<k[0..1]>/<k[2..3]>/<key> for each dropped blob,
 * and `rm -r` of <root>/va/ri/variants/<key> for those of them that have variants (one listing).
 */
export function deleteFilesByPath(root: string, blobKeys: string[]): number {
  let deleted = 0;
  for (const k of blobKeys) {
    try {
      fs.unlinkSync(path.join(root, k.slice(0, 2), k.slice(2, 4), k));
      deleted++;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  const variants = path.join(root, 'va', 'ri', 'variants');
  const dropped = new Set(blobKeys);
  const folders = fs.existsSync(variants) ? fs.readdirSync(variants).filter((k) => dropped.has(k)) : [];
  for (const k of folders) {
    const dir = path.join(variants, k);
    deleted += fs.readdirSync(dir).length;
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return deleted;
}

const VERIFY_TABLES = ['users', 'phone_models', 'system_settings', 'customers', 'loans', 'solid_queue_jobs'];

function sh(command: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    // 'exit', not 'close': the start command leaves a daemon that may hold the pipes.
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`"${command}" exited ${code}: ${err.trim()}`)),
    );
  });
}

export async function runPeerScript(o: PeerScriptOptions): Promise<PeerScriptResult> {
  const t0 = process.hrtime.bigint();
  const now = () => Number(process.hrtime.bigint() - t0) / 1e9;
  const steps = {} as Record<PeerStep, number>;
  let mark = 0;
  const done = (step: PeerStep) => {
    const t = now();
    steps[step] = t - mark;
    mark = t;
  };
  await pgDump(o.pgBin, o.databaseUrl, o.backupFile);
  done('backup');
  const stoppedAt = now();
  await sh(o.stopCommand, o.commandEnv);
  done('stopWorkers');
  const c = new Client({ connectionString: o.databaseUrl });
  await c.connect();
  let blobKeys: string[];
  let tables: string[];
  try {
    blobKeys = (await c.query(`SELECT key FROM active_storage_blobs`)).rows.map((r) => r.key as string);
    tables = await tablesToTruncate(c);
  } finally {
    await c.end();
  }
  await psqlTruncateAndSeed(o.pgBin, o.databaseUrl, tables);
  done('reset');
  const objectsDeleted = o.storageDir
    ? deleteFilesByPath(o.storageDir, blobKeys)
    : await deleteByKey(o.s3, o.bucket, blobKeys);
  done('purgeStorage');
  await sh(o.startCommand, o.commandEnv);
  const workersStoppedSeconds = now() - stoppedAt;
  done('startWorkers');
  const v = new Client({ connectionString: o.databaseUrl });
  await v.connect();
  const counts: Record<string, number> = {};
  try {
    for (const t of VERIFY_TABLES) counts[t] = Number((await v.query(`SELECT count(*) AS n FROM "${t}"`)).rows[0].n);
  } finally {
    await v.end();
  }
  done('verify');
  return { seconds: now(), workersStoppedSeconds, objectsDeleted, counts, steps };
}

if (require.main === module) {
  const need = (k: string) => process.env[k] ?? (process.stderr.write(`peer-script: set ${k}\n`), process.exit(2));
  runPeerScript({
    databaseUrl: need('PEER_DATABASE_URL'),
    pgBin: need('RR_PG_BIN'),
    backupFile: need('PEER_BACKUP'),
    stopCommand: need('PEER_STOP'),
    startCommand: need('PEER_START'),
    commandEnv: process.env,
    s3: s3Client({ bucket: need('PEER_BUCKET'), endpoint: process.env.RR_S3_ENDPOINT }),
    bucket: need('PEER_BUCKET'),
    storageDir: process.env.PEER_STORAGE_DIR,
  })
    .then((r) => process.stdout.write(JSON.stringify(r, null, 2) + '\n'))
    .catch((e: Error) => {
      process.stderr.write(`peer-script: ${e.message}\n`);
      process.exit(1);
    });
}
