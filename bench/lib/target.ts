/**
 * The bench's targets file: the demo's target (demo/target.ts) for each fixture, its S3 endpoint the
 * counting proxy, its pg_dump the stack's, and its stop/start commands wrapped so that each writes a
 * timestamp: the workers-stopped window is read the same way for ours and for the peer script —
 * from the moment the stop command begins to the moment the start command returns.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TargetConfigInput as TargetConfig } from '../../src/config/types';
import { demoTarget } from '../../demo/target';
import type { Fixture } from './fixture';
import { REPO, type BenchStack } from './stack';

export const SERVICE = path.join(REPO, 'scripts', 'solid-queue-service');

export interface BenchTarget {
  name: string;
  fixture: Fixture;
  /** Names the database URL in the worker's environment. */
  urlEnv: string;
  config: TargetConfig;
  pidFile: string;
  marksFile: string;
  stopCommand: string;
  startCommand: string;
}

export function benchTarget(
  stack: BenchStack,
  dir: string,
  name: string,
  fixture: Fixture,
  s3Endpoint: string,
): BenchTarget {
  const urlEnv = `BENCH_${name.toUpperCase()}_DATABASE_URL`;
  const pidFile = path.join(dir, `${name}-solid_queue.pid`);
  const marksFile = path.join(dir, `${name}-marks.log`);
  const { stop: stopCommand, start: startCommand } = markedWorkerCommands(marksFile);
  const config = demoTarget({
    urlEnv,
    bucket: fixture.bucket,
    endpoint: s3Endpoint,
    backupDir: path.join(dir, `${name}-backups`),
    pidFile,
    backup: { keep: 2, pgDump: path.join(stack.pgBin, 'pg_dump'), pgRestore: path.join(stack.pgBin, 'pg_restore') },
  });
  config.workers = { ...config.workers!, stop: stopCommand, start: startCommand };
  // A Disk-service fixture: the demo's blobs name service "local", whose files are in that folder.
  if (fixture.storageDir)
    config.storage = { ...config.storage!, services: { local: { kind: 'disk', root: fixture.storageDir } } };
  return { name, fixture, urlEnv, config, pidFile, marksFile, stopCommand, startCommand };
}

export function writeTargetsFile(file: string, targets: BenchTarget[]): void {
  fs.writeFileSync(
    file,
    JSON.stringify({ targets: Object.fromEntries(targets.map((t) => [t.name, t.config])) }, null, 2) + '\n',
  );
}

/** The environment the worker (and the peer's commands) see: each target's database URL by its urlEnv. */
export function targetEnv(targets: BenchTarget[]): Record<string, string> {
  return Object.fromEntries(targets.map((t) => [t.urlEnv, t.fixture.url]));
}

/** The env the target's workers commands get (what demoTarget passes, resolved). */
export function serviceEnv(t: BenchTarget): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    SQ_PID_FILE: t.pidFile,
    DATABASE_URL: t.fixture.url,
    SQ_HEARTBEAT_SECONDS: '1',
  };
}

/**
 * The stand-in's stop and start commands, each writing a timestamp to marksFile: from the moment the stop
 * begins to the moment the start returns (windowSecondsIn).
 */
export function markedWorkerCommands(marksFile: string): { stop: string; start: string } {
  return {
    stop: `echo "stop $(date +%s%3N)" >> ${marksFile}; ${SERVICE} stop`,
    start: `${SERVICE} start && echo "started $(date +%s%3N)" >> ${marksFile}`,
  };
}

/** The last stop → started window in the marks file, in seconds. */
export function lastWindowSeconds(t: BenchTarget): number {
  return windowSecondsIn(t.marksFile);
}

/** The last stop → started window in a marks file written by markedWorkerCommands, in seconds. */
export function windowSecondsIn(marksFile: string): number {
  const lines = fs.readFileSync(marksFile, 'utf8').trim().split('\n');
  const stop = [...lines].reverse().find((l) => l.startsWith('stop '));
  const started = [...lines].reverse().find((l) => l.startsWith('started '));
  if (!stop || !started) throw new Error(`no stop/start marks in ${marksFile}`);
  const w = (Number(started.split(' ')[1]) - Number(stop.split(' ')[1])) / 1000;
  if (!(w > 0)) throw new Error(`the last start in ${marksFile} is not after the last stop`);
  return w;
}
