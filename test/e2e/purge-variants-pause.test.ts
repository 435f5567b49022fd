/**
 * A Disk purge that fails part-way through the untracked variants, end to end: the run pauses at step 4
 * with the workers running again, every view says so, the `reset-runbook resume` that `status` prints is
 * run exactly as printed, and the run completes with every file counted once, the variants named (the
 * plan counts blobs only). Real Temporal, PostgreSQL, worker process and Solid Queue stand-in; the
 * failure is a file standing where a variant's quarantine folder must go.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cli, cliAsPrinted, json, waitFor } from '../cli/harness';
import { approveAndFinish } from '../support/drive';
import { diskVariantPath, writeDiskFile, writeDiskFiles } from '../support/disk-layout';
import { fixture, type ResetFixture } from '../support/fixture';

let f: ResetFixture;
afterEach(async () => {
  await f?.cleanup();
});

test('a variant folder fails after some files went: paused with the workers running, resumed as printed, every file counted once', async () => {
  f = await fixture({ scale: 1 });
  const root = path.join(f.dir, 'storage');
  await f.sql(`UPDATE active_storage_blobs SET service_name = 'local'`);
  const keys = (await f.sql<{ key: string }>('SELECT key FROM active_storage_blobs ORDER BY key')).map((r) => r.key);
  writeDiskFiles(root, keys, () => 'x');
  // Three blobs' variant folders, two files each; the third folder's second file (in name order) cannot move.
  // Paths relative to the root.
  const variants = keys.slice(0, 3).flatMap((k) => [diskVariantPath(k, 'a.png'), diskVariantPath(k, 'thumb', 'v.png')]);
  for (const p of variants) writeDiskFile(root, p, 'variant');
  const exists = (p: string) => fs.existsSync(path.join(root, p));
  const file = JSON.parse(fs.readFileSync(f.targetsFile, 'utf8'));
  const t = file.targets[f.target];
  t.storage = { services: { local: { kind: 'disk', root } }, concurrency: 1, quarantine: {} };
  t.timing = { ...t.timing, maximumAttempts: 1 };
  fs.writeFileSync(f.targetsFile, JSON.stringify(file, null, 2));
  expect(f.service('start')).toBe(0);
  await f.startWorker();
  const env = f.workerEnv as Record<string, string>;
  const h = await f.start({ mode: 'execute' });
  // The run's id names the quarantine folder: block it once the run exists, before its purge.
  const blocked = path.join('.reset-quarantine', h.firstExecutionRunId, diskVariantPath(keys[2], 'thumb'));
  writeDiskFile(root, blocked, 'in the way');
  const finished = approveAndFinish(h, f.dbName);

  const paused = await waitFor(
    'the run paused at the purge',
    async () => {
      const s = json(await cli(['status', f.target, '--json'], env));
      return s.phase === 'waiting-for-operator' ? s : undefined;
    },
    120_000,
  );
  const purge = paused.steps.find((s: { name: string }) => s.name === 'purgeStorage');
  expect(purge.status).toBe('waiting-for-operator');
  expect(purge.error).toMatch(
    new RegExp(`Could not move to .* the variants of key ${keys[2]} .*Retry: it resumes here`),
  );
  // The test means something only if files went before the failure: two folders and the third's first file.
  expect(variants.filter(exists)).toEqual([variants[5]]);
  // The workers: started again while the run waits, and they are.
  expect(paused.workers.status).toBe('running');
  expect(f.service('status')).toBe(0);
  const text = (await cli(['status', f.target], env)).stdout;
  expect(text).toContain('PAUSED at step "purgeStorage"');
  expect(text).toContain('Solid Queue workers: started again while the run waits');
  const printed = /retry the step: (reset-runbook resume \S+)/.exec(text)?.[1];
  expect(printed).toBe(`reset-runbook resume ${h.workflowId}`);

  fs.rmSync(path.join(root, blocked));
  const resumed = await cliAsPrinted(printed!, env);
  expect(resumed.code).toBe(0);
  const r = await finished;
  expect(r.outcome).toBe('completed');
  expect(r.workers?.status).toBe('running');
  // Every blob's file and every variant file once, though three of the variants went in the failed attempt.
  expect(r.objectsDeleted).toMatchObject({
    count: keys.length + variants.length,
    variants: variants.length,
    alreadyGone: 0,
  });
  for (const p of variants) expect(exists(p)).toBe(false);
  const end = (await cli(['status', f.target], env)).stdout;
  expect(end).toContain(`${keys.length + variants.length} objects (${variants.length} of them untracked variants)`);
  expect(end).toContain('Solid Queue workers: running');
});
