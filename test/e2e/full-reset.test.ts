/**
 * A whole reset on the real stack: generated data in, the runbook's expected output out.
 * Real Temporal, PostgreSQL, S3 (moto), pg_dump/pg_restore, the stand-in Solid Queue service and a
 * worker process.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { approveSignal } from '../../src/contract';
import { cli, json } from '../cli/harness';
import { waitFor } from '../support/drive';
import { fixture, type ResetFixture } from '../support/fixture';
import { serverHistoryText } from '../support/history-text';

let f: ResetFixture;
afterEach(async () => {
  await f?.cleanup();
});

test('a full reset ends exactly as the runbook expects, keeps what it must, and leaves a restorable backup', async () => {
  f = await fixture();
  expect(f.service('start')).toBe(0);
  const blobKeys = (await f.sql<{ key: string }>('SELECT key FROM active_storage_blobs')).map((r) => r.key);
  expect(blobKeys.length).toBeGreaterThan(0);
  const before = await f.objects();
  const otherBefore = await f.objects(f.otherAppPrefix);
  const countsBefore = {
    customers: await f.count('customers'),
    loans: await f.count('loans'),
    jobs: await f.count('solid_queue_jobs'),
  };
  expect(countsBefore.customers).toBeGreaterThan(0);

  const worker = await f.startWorker();
  const h = await f.start({ mode: 'execute', reason: 'e2e: clean handoff' });
  const waiting = await waitFor(h, (p) => p.phase === 'awaiting-approval');
  expect(waiting.approval?.database).toBe(f.dbName);
  // Nothing destructive has happened while the run waits for a person.
  expect(await f.count('customers')).toBe(countsBefore.customers);
  expect(f.service('status')).toBe(0);
  await h.signal(approveSignal, { confirmation: f.dbName, by: 'jest' });
  const r = await h.result();

  expect(r.outcome).toBe('completed');
  expect(r.verify?.report).toBe(
    ['Users: 6', 'Phone Models: 10', 'System Settings: 1', 'Customers: 0', 'Loans: 0', 'Queue Jobs: 0'].join('\n'),
  );
  // A count and roles only: logins (e-mails) never enter history, which every Web UI user can read.
  expect(r.accounts).toEqual({ count: 6, roles: { admin: 3, master: 1, supervisor: 1, vendedor: 1 } });
  const serverHistory = serverHistoryText(h.workflowId);
  expect(serverHistory).toContain('Users: 6'); // the grep sees clear payloads (no encryption here)
  expect(serverHistory).not.toMatch(/@phonefin\.example|\$2[aby]\$/);

  // Storage: no object of a dropped blob is left; orphans and the other application's files are.
  const after = await f.objects();
  for (const key of blobKeys) {
    expect(after.has(`${f.prefix}${key}`)).toBe(false);
    expect([...after.keys()].some((k) => k.startsWith(`${f.prefix}variants/${key}/`))).toBe(false);
  }
  const deleted = [...before.keys()].filter((k) => !after.has(k));
  expect(r.objectsDeleted?.count).toBe(deleted.length);
  expect(after.size).toBe(f.report.objects!.orphan);
  expect(deleted.length).toBe(
    f.report.objects!.blob + f.report.objects!.trackedVariant + f.report.objects!.untrackedVariant,
  );
  expect(await f.objects(f.otherAppPrefix)).toEqual(otherBefore);

  // Workers are running again.
  expect(f.service('status')).toBe(0);
  const live = await f.sql<{ n: string }>(
    `SELECT count(*) AS n FROM solid_queue_processes WHERE last_heartbeat_at > now() - interval '10 seconds'`,
  );
  expect(Number(live[0].n)).toBeGreaterThan(0);

  // The audit, as an operator runs it: the workers' downtime, read from the run's history (from the stop
  // to the start), spans at least the reset and the purge that ran while they were stopped.
  const audit = await cli(['audit', f.target, '--since', '1h', '--json'], {});
  expect(audit.code).toBe(0);
  const row = json<any[]>(audit).find((x) => x.workflowId === h.workflowId);
  expect(row).toMatchObject({ kind: 'reset', outcome: 'completed', workersStatus: 'running' });
  const down: number = row.workersDownSeconds;
  expect(down).toEqual(expect.any(Number));
  const whileStopped = (r.stepDurationsMs?.reset ?? 0) + (r.stepDurationsMs?.purgeStorage ?? 0);
  expect(down * 1000).toBeGreaterThanOrEqual(whileStopped - 1000); // the CLI rounds to whole seconds
  expect(down * 1000).toBeLessThanOrEqual(Date.parse(row.endedAt) - Date.parse(row.startedAt) + 1000);

  // The backup: mode 0600, the digest on record, and it restores to the pre-reset counts.
  const file = r.backup!.files[0];
  expect(fs.statSync(file.path).mode & 0o777).toBe(0o600);
  expect(path.basename(file.path)).toMatch(new RegExp(`^backup_pre_reset_${f.target}_\\d{8}-\\d{6}\\.dump$`));
  expect(createHash('sha256').update(fs.readFileSync(file.path)).digest('hex')).toBe(file.sha256);
  const pgBin = process.env.RR_PG_BIN!;
  await f.sql(`CREATE DATABASE "${f.dbName}_restore"`);
  const restoreUrl = f.dbUrl.replace(`/${f.dbName}`, `/${f.dbName}_restore`);
  execFileSync(path.join(pgBin, 'pg_restore'), ['--no-owner', '-d', restoreUrl, file.path], { stdio: 'pipe' });
  expect(await f.count('customers', restoreUrl)).toBe(countsBefore.customers);
  expect(await f.count('loans', restoreUrl)).toBe(countsBefore.loans);
  expect(await f.count('solid_queue_jobs', restoreUrl)).toBe(countsBefore.jobs);

  // No secret anywhere in the run's history, result or worker log.
  // A control: the decoded history does show what the run carries in clear, so the search can hit.
  expect(serverHistory).toContain(f.dbName);
  for (const text of [serverHistory, JSON.stringify(r), worker.log()]) {
    expect(text).not.toContain(f.secret);
    expect(text).not.toContain('postgres://');
  }
});
