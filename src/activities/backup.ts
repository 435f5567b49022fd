/**
 * Step 1 — backup. `pg_dump -Fc` of every database the reset will touch, streamed to disk with its
 * SHA-256 computed on the way, checked with `pg_restore --list`, and only then renamed to its final
 * name: a file that looks whole is whole. Connection secrets reach pg_dump through libpq's
 * environment variables, never its command line (which `ps` shows to every user of the host).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { BackupFile, BackupRecord } from '../workflows/definitions';
import { baseEnv } from './lib/child-env';
import { crashPoint } from './lib/faults';
import { cancellation, cancelledFailure, throwIfCancelled, withKeepalive } from './lib/keepalive';
import { withClient } from './lib/postgres';
import { killGroup, redact, runCommand, spawnGuarded } from './lib/shell';
import { resolveTarget, type ActivityDeps, type DatabaseHandle } from './lib/target';

export function createBackupActivities(deps: ActivityDeps) {
  return {
    async backupDatabase(args: { target: string }): Promise<BackupRecord> {
      const t = resolveTarget(deps, args.target);
      const { dir, keep = 5 } = t.config.backup;
      const pgDump = t.config.backup.pgDump ?? 'pg_dump';
      const pgRestore = t.config.backup.pgRestore ?? 'pg_restore';
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      removePartials(dir, t.name);
      const stamp = timestamp(new Date());
      const version = await runCommand([pgDump, '--version'], { timeoutMs: 10_000, env: baseEnv(process.env) });
      const serverVersion = await withClient(t.primary, async (c) => (await c.query(`SHOW server_version`)).rows[0].server_version as string);

      return withKeepalive(async (beat) => {
        const files: BackupFile[] = [];
        let done = 0;
        try {
          for (const db of t.databases) {
            const name = `backup_pre_reset_${t.name}_${stamp}${db.name === 'primary' ? '' : `.${db.name}`}.dump`;
            const file = path.join(dir, name);
            const dumped = await dumpTo(pgDump, db, file, (bytes) => {
              beat({ unit: 'bytes', done: done + bytes });
              crashPoint('backup.streaming');
            });
            done += dumped.bytes;
            const tocEntries = await checkArchive(pgRestore, file, db);
            fs.renameSync(`${file}.partial`, file);
            files.push({ database: db.name, path: file, bytes: dumped.bytes, sha256: dumped.sha256, tocEntries });
          }
        } catch (err) {
          // A cancelled backup leaves no file behind: not even the whole dump of a first database,
          // which no run records and which would pass for a complete backup.
          if (cancellation()?.aborted) for (const f of files) fs.rmSync(f.path, { force: true });
          throw err;
        }
        fsyncDir(dir);
        pruneOldBackups(dir, t.name, keep);
        crashPoint('backup.done');
        return { files, serverVersion, pgDumpVersion: version.output.trim(), createdAt: new Date().toISOString() };
      });
    },
  };
}

/** libpq reads these; pg_dump's argv then names nothing secret. */
export function libpqEnv(url: string): NodeJS.ProcessEnv {
  const u = new URL(url);
  // The basics only (lib/child-env.ts); the worker's own PG* and other secrets stay out.
  const env: NodeJS.ProcessEnv = baseEnv(process.env);
  if (u.hostname) env.PGHOST = decodeURIComponent(u.hostname);
  if (u.port) env.PGPORT = u.port;
  if (u.username) env.PGUSER = decodeURIComponent(u.username);
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  env.PGDATABASE = decodeURIComponent(u.pathname.replace(/^\//, ''));
  const ssl = u.searchParams.get('sslmode');
  if (ssl) env.PGSSLMODE = ssl;
  const host = u.searchParams.get('host'); // unix socket form: postgres:///db?host=/run/postgresql
  if (host) env.PGHOST = host;
  return env;
}

/**
 * Runs pg_dump into `<file>.partial`. On cancellation pg_dump is killed with its process group (its
 * server session ends when the socket closes), the partial file is removed, and the activity's
 * CancelledFailure is thrown once pg_dump is gone.
 */
async function dumpTo(pgDump: string, db: DatabaseHandle, file: string, onBytes: (n: number) => void): Promise<{ bytes: number; sha256: string }> {
  const partial = `${file}.partial`;
  const cancel = cancellation();
  throwIfCancelled(cancel);
  const out = fs.createWriteStream(partial, { mode: 0o600, flags: 'w' });
  const hash = createHash('sha256');
  let bytes = 0;
  let stderr = '';
  const child = spawnGuarded(pgDump, ['-Fc', '--no-password'], { env: libpqEnv(db.url) });
  const onCancel = () => killGroup(child);
  cancel?.addEventListener('abort', onCancel, { once: true });
  child.stdout!.on('data', (b: Buffer) => {
    hash.update(b);
    bytes += b.length;
    onBytes(bytes);
  });
  child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4096)));
  // Both must happen: pg_dump exits, and every byte it wrote is flushed to the file.
  const written = new Promise<void>((resolve, reject) => out.on('finish', resolve).on('error', reject));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (err) => reject(ApplicationFailure.nonRetryable(`cannot run ${pgDump}: ${err.message}`, 'BackupFailed')));
    child.on('close', resolve);
  });
  child.stdout!.pipe(out);
  let code: number | null;
  try {
    [code] = await Promise.all([exited, written]);
  } catch (err) {
    fs.rmSync(partial, { force: true });
    throw err;
  } finally {
    cancel?.removeEventListener('abort', onCancel);
  }
  if (cancel?.aborted) {
    fs.rmSync(partial, { force: true });
    throw cancelledFailure(cancel);
  }
  if (code !== 0) {
    fs.rmSync(partial, { force: true });
    throw new Error(`pg_dump of database "${db.name}" exited with code ${code}: ${redact(stderr.trim(), [db.url])}`);
  }
  const fd = fs.openSync(partial, 'r');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  return { bytes, sha256: hash.digest('hex') };
}

/** `pg_restore --list` reads the whole archive's table of contents: a truncated or corrupt file fails here. */
function checkArchive(pgRestore: string, file: string, db: DatabaseHandle): Promise<number> {
  const cancel = cancellation();
  return new Promise((resolve, reject) => {
    if (cancel?.aborted) {
      fs.rmSync(`${file}.partial`, { force: true });
      return reject(cancelledFailure(cancel));
    }
    const child = spawnGuarded(pgRestore, ['--list', `${file}.partial`], { env: baseEnv(process.env) });
    const onCancel = () => killGroup(child);
    cancel?.addEventListener('abort', onCancel, { once: true });
    let entries = 0;
    let rest = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => {
      const lines = (rest + b.toString()).split('\n');
      rest = lines.pop() ?? '';
      entries += lines.filter((l) => /^\d+;/.test(l)).length;
    });
    child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2048)));
    child.on('error', (err) => reject(ApplicationFailure.nonRetryable(`cannot run ${pgRestore}: ${err.message}`, 'BackupFailed')));
    child.on('close', (code) => {
      cancel?.removeEventListener('abort', onCancel);
      if (cancel?.aborted) {
        fs.rmSync(`${file}.partial`, { force: true });
        return reject(cancelledFailure(cancel));
      }
      if (code === 0 && entries > 0) return resolve(entries);
      fs.rmSync(`${file}.partial`, { force: true });
      reject(new Error(`pg_restore --list rejected the dump of database "${db.name}" (exit ${code}): ${stderr.trim() || 'no entries'}`));
    });
  });
}

export function timestamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/** A concurrent reset of the same target is impossible (one workflow id per target), so its partials are ours. */
function removePartials(dir: string, target: string): void {
  for (const f of fs.readdirSync(dir)) if (f.startsWith(`backup_pre_reset_${target}_`) && f.endsWith('.partial')) fs.rmSync(path.join(dir, f), { force: true });
}

function pruneOldBackups(dir: string, target: string, keep: number): void {
  const re = new RegExp(`^backup_pre_reset_${target}_(\\d{8}-\\d{6})(\\.[a-z0-9_-]+)?\\.dump$`);
  const stamps = [...new Set(fs.readdirSync(dir).map((f) => re.exec(f)?.[1]).filter((s): s is string => Boolean(s)))].sort();
  const drop = new Set(stamps.slice(0, Math.max(0, stamps.length - keep)));
  for (const f of fs.readdirSync(dir)) {
    const m = re.exec(f);
    if (m && drop.has(m[1])) fs.rmSync(path.join(dir, f), { force: true });
  }
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
