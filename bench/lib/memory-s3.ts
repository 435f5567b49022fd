/**
 * The bench's fast S3 (bench/s3-server, an in-memory S3-compatible server in Go) for `--s3-server memory`:
 * built with the machine's Go into $RR_STATE_DIR/tools on first use (again when its source changes),
 * started on a free loopback port, stopped with the bench. Objects live only as long as it runs.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO } from './stack';

export interface MemoryS3 {
  endpoint: string;
  stop(): Promise<void>;
}

function build(stateDir: string, log: (l: string) => void): string {
  const src = path.join(REPO, 'bench', 's3-server');
  const digest = createHash('sha256');
  for (const f of ['main.go', 'go.mod', 'go.sum']) digest.update(fs.readFileSync(path.join(src, f)));
  const bin = path.join(stateDir, 'tools', `bench-s3-server-${digest.digest('hex').slice(0, 12)}`);
  if (fs.existsSync(bin)) return bin;
  log(`building the in-memory S3 server (go build ./bench/s3-server) into ${bin} ...`);
  fs.mkdirSync(path.dirname(bin), { recursive: true });
  try {
    execFileSync('go', ['build', '-o', bin, '.'], { cwd: src, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(
      `--s3-server memory needs Go (go build ./bench/s3-server failed${stderr ? `: ${stderr.slice(-1500)}` : ''}); or drop it to use the stack's moto`,
      { cause: e },
    );
  }
  return bin;
}

export async function startMemoryS3(stateDir: string, log: (l: string) => void): Promise<MemoryS3> {
  const child = spawn(build(stateDir, log), ['-addr', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
  const endpoint = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the in-memory S3 server did not start: ${stderr}`)), 10_000);
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the in-memory S3 server exited with code ${code}: ${stderr}`));
    });
  });
  child.stdout!.resume();
  // A bench that fails on its way out must not leave the server behind.
  process.once('exit', () => child.kill('SIGKILL'));
  log(`in-memory S3 server at ${endpoint} (pid ${child.pid})`);
  return {
    endpoint,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
