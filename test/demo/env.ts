/**
 * What the demo tests need from the stack, read from the environment jest's globalSetup (or
 * `eval "$(scripts/stack env)"`) provides, plus unique names so concurrent tests never share a database
 * or a bucket.
 */
import { randomBytes } from 'crypto';

function required(name: string): string {
  const v = process.env[name];
  if (!v) {
    throw new Error(
      `${name} is not set: run the tests through the test runner (its globalSetup starts the stack), ` +
        `or eval "$(scripts/stack env)" first`,
    );
  }
  return v;
}

/** postgres://postgres@127.0.0.1:PORT/postgres: the stack's cluster, as its superuser. */
export function pgAdminUrl(): string {
  return required('RR_PG_ADMIN_URL');
}

/** A URL for database `name` on the stack's cluster. */
export function databaseUrl(name: string): string {
  const u = new URL(pgAdminUrl());
  u.pathname = `/${name}`;
  return u.toString();
}

export function s3Endpoint(): string {
  required('AWS_ACCESS_KEY_ID');
  required('AWS_SECRET_ACCESS_KEY');
  return required('RR_S3_ENDPOINT');
}

/** A lowercase name unique to this test run: databases `demo_x_<id>`, buckets `demo-x-<id>`. */
export function uniqueName(prefix: string, sep: '_' | '-' = '_'): string {
  return `${prefix}${sep}${Date.now().toString(36)}${sep}${randomBytes(3).toString('hex')}`;
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 15000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
