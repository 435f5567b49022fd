/**
 * The local stack as the tests see it: the values `scripts/stack env --json` prints, which jest's
 * globalSetup (test/support/global-setup.ts) copies into process.env before any test runs.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const STACK_SCRIPT = path.join(REPO_ROOT, 'scripts', 'stack');

/** Every key `scripts/stack env` prints. */
export const STACK_ENV_KEYS = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'RR_TEMPORAL_UI_URL',
  'RR_TEMPORAL_BIN',
  'RR_TEMPORAL_PORT',
  'RR_TEMPORAL_UI_PORT',
  'RR_PG_BIN',
  'RR_PG_PORT',
  'RR_PG_ADMIN_URL',
  'RR_S3_PORT',
  'RR_S3_ENDPOINT',
  'RR_S3_BUCKET',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_REGION',
  'RR_STATE_DIR',
  'RR_TOOLS_DIR',
] as const;
export type StackEnvKey = (typeof STACK_ENV_KEYS)[number];
export type StackEnvVars = Record<StackEnvKey, string>;

export interface StackEnv {
  /** host:port of the Temporal frontend (gRPC). */
  temporalAddress: string;
  temporalNamespace: string;
  /** http://127.0.0.1:PORT of the Temporal Web UI. */
  temporalUiUrl: string;
  /** Path of the `temporal` CLI binary. */
  temporalBin: string;
  temporalPort: number;
  temporalUiPort: number;
  /** Folder of pg_dump, pg_restore, psql of the server's major version. */
  pgBin: string;
  pgPort: number;
  /** postgres://postgres@127.0.0.1:PORT/postgres (trust auth on loopback). */
  pgAdminUrl: string;
  s3Port: number;
  s3Endpoint: string;
  s3Bucket: string;
  aws: { accessKeyId: string; secretAccessKey: string; region: string };
  stateDir: string;
  toolsDir: string;
}

/**
 * Runs `scripts/stack env --json` (with `env` layered over process.env, so RR_* knobs select
 * another stack) and returns the variables. Does not check that the stack is up.
 */
export function readStackEnvVars(env: NodeJS.ProcessEnv = {}): StackEnvVars {
  const out = execFileSync(STACK_SCRIPT, ['env', '--json'], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const parsed = JSON.parse(out) as Record<string, unknown>;
  for (const key of STACK_ENV_KEYS) {
    if (typeof parsed[key] !== 'string') throw new Error(`scripts/stack env --json gave no ${key}`);
  }
  return parsed as StackEnvVars;
}

function toStackEnv(v: StackEnvVars): StackEnv {
  return {
    temporalAddress: v.TEMPORAL_ADDRESS,
    temporalNamespace: v.TEMPORAL_NAMESPACE,
    temporalUiUrl: v.RR_TEMPORAL_UI_URL,
    temporalBin: v.RR_TEMPORAL_BIN,
    temporalPort: Number(v.RR_TEMPORAL_PORT),
    temporalUiPort: Number(v.RR_TEMPORAL_UI_PORT),
    pgBin: v.RR_PG_BIN,
    pgPort: Number(v.RR_PG_PORT),
    pgAdminUrl: v.RR_PG_ADMIN_URL,
    s3Port: Number(v.RR_S3_PORT),
    s3Endpoint: v.RR_S3_ENDPOINT,
    s3Bucket: v.RR_S3_BUCKET,
    aws: { accessKeyId: v.AWS_ACCESS_KEY_ID, secretAccessKey: v.AWS_SECRET_ACCESS_KEY, region: v.AWS_REGION },
    stateDir: v.RR_STATE_DIR,
    toolsDir: v.RR_TOOLS_DIR,
  };
}

/** The stack's values from process.env, as set by the globalSetup; throws if one is missing. */
export function stackEnv(): StackEnv {
  const missing = STACK_ENV_KEYS.filter((k) => !process.env[k]);
  if (missing.length) {
    throw new Error(
      `${missing.join(', ')} not set: run the tests with scripts/test (it starts the stack), ` +
        `or scripts/stack up and eval "$(scripts/stack env)"`,
    );
  }
  return toStackEnv(Object.fromEntries(STACK_ENV_KEYS.map((k) => [k, process.env[k] as string])) as StackEnvVars);
}

/** The values of another stack (e.g. one a test brings up on other ports). */
export function stackEnvFor(env: NodeJS.ProcessEnv): StackEnv {
  return toStackEnv(readStackEnvVars(env));
}
