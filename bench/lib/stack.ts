/**
 * The local stack the bench runs on: `scripts/stack up` (idempotent: a running stack is left as it is),
 * then its environment (`scripts/stack env --json`) copied into this process, as the tests do.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

export const REPO = path.resolve(__dirname, '..', '..');

export interface BenchStack {
  pgAdminUrl: string;
  pgBin: string;
  s3Endpoint: string;
  temporalAddress: string;
  namespace: string;
  stateDir: string;
}

export function stackUp(log: (l: string) => void): BenchStack {
  log('scripts/stack up (Temporal, PostgreSQL, S3) ...');
  execFileSync(path.join(REPO, 'scripts', 'stack'), ['up'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const env = JSON.parse(
    execFileSync(path.join(REPO, 'scripts', 'stack'), ['env', '--json'], { encoding: 'utf8' }),
  ) as Record<string, string>;
  for (const [k, v] of Object.entries(env)) process.env[k] = v;
  return {
    pgAdminUrl: env.RR_PG_ADMIN_URL,
    pgBin: env.RR_PG_BIN,
    s3Endpoint: env.RR_S3_ENDPOINT,
    temporalAddress: env.TEMPORAL_ADDRESS,
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
    stateDir: env.RR_STATE_DIR,
  };
}

/** The URL of database `name` on the stack's server. */
export function databaseUrl(stack: BenchStack, name: string): string {
  const u = new URL(stack.pgAdminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}
