/**
 * The rebuild strategy on the real stack: a command that really drops and re-creates the database
 * (dropdb, createdb, schema, seeds — what `bin/rails db:reset` does) runs while the run holds the
 * database's reset lock, and the run's claim survives it; a command that fails before dropping
 * anything says that nothing was touched, and the ending prints no restore hint; one that fails after
 * dropping and re-creating it says so, and the restore command the ending prints brings the rows back.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { renderResult } from '../../src/cli/render-ending';
import { run } from '../cli/harness';
import { abortSignal, approveSignal, type ResetResult } from '../../src/contract';
import { waitFor } from '../support/drive';
import { fixture, type ResetFixture } from '../support/fixture';
import { REPO_ROOT } from '../support/temporal';

jest.setTimeout(300_000);
let f: ResetFixture;
afterEach(async () => {
  await f?.cleanup();
});

const EXPECTED = [
  'Users: 6',
  'Phone Models: 10',
  'System Settings: 1',
  'Customers: 0',
  'Loans: 0',
  'Queue Jobs: 0',
].join('\n');

function script(dir: string, name: string, body: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\nset -eu\n${body}\n`, { mode: 0o755 });
  return file;
}

/** Drops and re-creates the database named by DATABASE_URL, then loads the demo's schema and seeds. */
const DB_RESET = `name="\${DATABASE_URL##*/}"
admin="\${DATABASE_URL%/*}/postgres"
dropdb --maintenance-db="$admin" "$name"
createdb --maintenance-db="$admin" "$name"
exec "${REPO_ROOT}/scripts/demo-db" load --schema-only`;

async function databaseOid(): Promise<string> {
  return (
    await f.sql<{ oid: string }>(`SELECT oid::text AS oid FROM pg_database WHERE datname = current_database()`)
  )[0].oid;
}

async function startApproved() {
  const h = await f.start({ mode: 'execute' });
  await waitFor(h, (p) => p.phase === 'awaiting-approval');
  await h.signal(approveSignal, { confirmation: f.dbName, highRiskConfirmation: `REBUILD ${f.dbName}`, by: 'jest' });
  return h;
}

test('a rebuild command that drops and re-creates the database runs under the reset lock, and the run completes', async () => {
  const dir = fs.mkdtempSync('/tmp/rr-rebuild-');
  f = await fixture({ target: { rebuildCommand: [script(dir, 'db-reset', DB_RESET)] } });
  expect(f.service('start')).toBe(0);
  await f.startWorker();
  const oid = await databaseOid();
  expect(await f.count('customers')).toBeGreaterThan(0);

  const r = await (await startApproved()).result();
  expect(r.outcome).toBe('completed');
  expect(r.verify?.report).toBe(EXPECTED);
  // Really dropped: a new database under the same name.
  expect(await databaseOid()).not.toBe(oid);
  // The claim went with the old database; it was made again in the new one and given back at the end.
  expect(await f.count('reset_runbook.reset_lock')).toBe(0);
  expect(f.service('status')).toBe(0);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a rebuild command that fails before dropping anything says nothing was touched, and the abort prints no restore hint', async () => {
  const dir = fs.mkdtempSync('/tmp/rr-rebuild-');
  const failing = script(
    dir,
    'db-reset',
    `echo "db/schema.rb not found: run it from the application's folder" >&2\nexit 3`,
  );
  f = await fixture({ target: { rebuildCommand: [failing], timing: { maximumAttempts: 1 } } });
  expect(f.service('start')).toBe(0);
  await f.startWorker();
  const oid = await databaseOid();
  const before = { customers: await f.count('customers'), users: await f.count('users') };

  const h = await startApproved();
  const p = await waitFor(h, (x) => x.phase === 'waiting-for-operator');
  expect(p.waiting?.step).toBe('reset');
  const error = p.waiting?.error ?? '';
  expect(error).toMatch(/^Schema rebuild command \S+db-reset exited with code 3: db\/schema\.rb not found/);
  expect(error).toMatch(
    new RegExp(
      `Nothing was touched: database "primary" \\(${f.dbName}, oid ${oid}\\) and its \\d+ tables are as they were \\(same data files, same rows\\)`,
    ),
  );
  expect(error).not.toMatch(/truncated/);
  expect({ customers: await f.count('customers'), users: await f.count('users') }).toEqual(before);

  await h.signal(abortSignal, { reason: 'fix the command first' });
  const err = await h.result().catch((e) => e);
  expect(err.cause?.type).toBe('ResetAborted');
  const result = err.cause.details[0] as ResetResult;
  expect(result.outcome).toBe('aborted');
  expect(result.restoreCommand).toBeUndefined();
  expect(renderResult(result)).not.toContain('Undo this reset');
  expect(renderResult(result)).not.toContain('reset-runbook restore');
  expect({ customers: await f.count('customers'), users: await f.count('users') }).toEqual(before);
  expect(await databaseOid()).toBe(oid);
  expect(f.service('status')).toBe(0);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a rebuild command that fails after re-creating the database says what it changed; the restore command the ending prints brings the rows back', async () => {
  const dir = fs.mkdtempSync('/tmp/rr-rebuild-');
  const halfway = script(
    dir,
    'db-reset',
    `${DB_RESET.replace(/^exec /m, '')}\necho "seeding failed: duplicate key" >&2\nexit 4`,
  );
  f = await fixture({ target: { rebuildCommand: [halfway], timing: { maximumAttempts: 1 } } });
  expect(f.service('start')).toBe(0);
  await f.startWorker();
  const oid = await databaseOid();
  const before = { customers: await f.count('customers'), users: await f.count('users') };
  expect(before.customers).toBeGreaterThan(0);

  const h = await startApproved();
  const p = await waitFor(h, (x) => x.phase === 'waiting-for-operator');
  const newOid = await databaseOid();
  expect(newOid).not.toBe(oid);
  expect(p.waiting?.error).toContain(
    `The database WAS changed by it: database "primary" (${f.dbName}) was dropped and re-created (oid ${oid} → ${newOid})`,
  );
  expect(await f.count('customers')).toBe(0);

  await h.signal(abortSignal, { reason: 'restore instead' });
  const err = await h.result().catch((e) => e);
  const result = err.cause.details[0] as ResetResult;
  const printed = /Undo this reset with: (.+)$/m.exec(renderResult(result))?.[1];
  expect(printed).toBe(`reset-runbook restore ${f.target} --run ${h.firstExecutionRunId}`);
  const [, ...args] = printed!.split(' ');
  const restored = await run(path.join(REPO_ROOT, 'bin', 'reset-runbook'), args, {
    env: { ...(f.workerEnv as Record<string, string>), NO_COLOR: '1', RESET_RUNBOOK_POLL_MS: '300' },
    input: `${f.dbName}\n`,
    timeoutMs: 240_000,
  });
  expect({ code: restored.code, out: restored.code === 0 ? '' : restored.stdout + restored.stderr }).toEqual({
    code: 0,
    out: '',
  });
  expect({ customers: await f.count('customers'), users: await f.count('users') }).toEqual(before);
  expect(f.service('status')).toBe(0);
  fs.rmSync(dir, { recursive: true, force: true });
});
