/**
 * A Disk-service target can be undone too. With storage.quarantine, the purge moves each file of a
 * dropped blob (and its untracked variants) under `<root>/.reset-quarantine/<reset run id>/`, and the
 * restore moves every one back: same paths, same contents. Without a quarantine the files are gone
 * for good: the restore does not end a silent `completed`, it counts them and says so.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { approveSignal, progressQuery, type RestoreResult } from '../../src/contract';
import { renderResult } from '../../src/cli/render-ending';
import { ANSI } from '../../src/cli/style';
import { approveAndFinish, waitFor } from '../support/drive';
import { diskVariantPath, writeDiskFile, writeDiskFiles } from '../support/disk-layout';
import { fixture, type ResetFixture } from '../support/fixture';

let f: ResetFixture;
jest.setTimeout(300_000);
afterEach(async () => {
  await f?.cleanup();
});

/** Every file under a folder, by path relative to it, with its contents. */
function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(path.relative(dir, p), fs.readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

/**
 * A demo database whose blobs live on a Disk service "local" at <fixture>/storage, each file with contents of its own.
 */
async function diskTarget(quarantine: boolean) {
  f = await fixture({ scale: 1 });
  await f.sql(`UPDATE active_storage_blobs SET service_name = 'local'`);
  const keys = (await f.sql<{ key: string }>('SELECT key FROM active_storage_blobs ORDER BY key')).map((r) => r.key);
  const root = path.join(f.dir, 'storage');
  writeDiskFiles(root, keys, (k) => `file of ${k} ${f.id}`);
  for (const k of keys.slice(0, 3)) writeDiskFile(root, diskVariantPath(k, 'thumb', 'a'.repeat(64)), `variant of ${k}`);
  writeDiskFile(root, path.join('zz', 'zz', 'orphan-from-before'), 'keep');
  const file = JSON.parse(fs.readFileSync(f.targetsFile, 'utf8'));
  file.targets[f.target].storage = {
    services: { local: { kind: 'disk', root } },
    ...(quarantine ? { quarantine: {} } : {}),
  };
  fs.writeFileSync(f.targetsFile, JSON.stringify(file, null, 2));
  expect(f.service('start')).toBe(0);
  await f.startWorker();
  return { root, keys, before: tree(root) };
}

async function restore() {
  const h = await f.startRestore();
  const waiting = await waitFor(h as never, (x) => x.phase === 'awaiting-approval');
  await h.signal(approveSignal, { confirmation: f.dbName, by: 'jest' });
  const r = await h.result();
  return { r: { ...r, plan: r.plan ?? waiting.restorePlan } as RestoreResult, h };
}

test('with storage.quarantine, reset then restore brings every Disk file back (same contents), and the quarantine folder goes', async () => {
  const { root, keys, before } = await diskTarget(true);
  const reset = await approveAndFinish(await f.start({ mode: 'execute' }), f.dbName);
  expect(reset.outcome).toBe('completed');
  const variants = [...before.keys()].filter((k) => k.startsWith(diskVariantPath('')));
  expect(reset.objectsDeleted).toMatchObject({ count: keys.length + variants.length, alreadyGone: 0, missing: 0 });
  expect(reset.plan?.warnings.filter((w) => /deleted for good/.test(w))).toEqual([]);

  // Moved, not deleted: the root holds only the orphan; the run's quarantine folder holds the rest, as it was.
  expect([...tree(root).keys()].filter((k) => !k.startsWith('.reset-quarantine'))).toEqual([
    path.join('zz', 'zz', 'orphan-from-before'),
  ]);
  const runs = fs.readdirSync(path.join(root, '.reset-quarantine'));
  expect(runs).toHaveLength(1);
  const quarantined = tree(path.join(root, '.reset-quarantine', runs[0]));
  const purged = new Map([...before].filter(([k]) => !k.startsWith('zz')));
  expect(quarantined).toEqual(purged);

  const { r } = await restore();
  expect(r.outcome).toBe('completed');
  expect(r.plan?.quarantine).toMatchObject({
    objects: purged.size,
    folders: [path.join(root, '.reset-quarantine', runs[0])],
  });
  expect(r.plan?.objectsMissing).toBe(0);
  expect(r.objectsRestored?.count).toBe(purged.size);
  expect(r.objectsMissing).toBeUndefined();
  // Every file back where Rails looks for it, with its contents; nothing left in the quarantine.
  expect(new Map([...tree(root)].filter(([k]) => !k.startsWith('.reset-quarantine')))).toEqual(before);
  expect(fs.existsSync(path.join(root, '.reset-quarantine', runs[0]))).toBe(false);
  expect(renderResult(r as never)).not.toContain('did not come back');
});

test('without a quarantine the restore counts the Disk files that are gone for good and shows them in red; it says why it skips', async () => {
  const { keys, before } = await diskTarget(false);
  const reset = await approveAndFinish(await f.start({ mode: 'execute' }), f.dbName);
  expect(reset.outcome).toBe('completed');
  // Said before the approval: what this reset deletes cannot come back.
  expect(reset.plan?.warnings).toContain(
    'service local is a Disk service without storage.quarantine: its files are deleted for good, and a restore cannot bring them back',
  );
  const purged = before.size - 1;
  expect(reset.objectsDeleted?.count).toBe(purged);
  expect(keys.length).toBeGreaterThan(0);

  const { r, h } = await restore();
  expect(r.outcome).toBe('completed');
  expect(r.plan?.objectsMissing).toBe(purged);
  expect(r.objectsMissing).toBe(purged);
  expect(r.message).toContain(`${purged} purged file(s) did not come back`);
  const step = (await h.query(progressQuery)).steps.find((s) => s.name === 'restoreStorage')!;
  expect(step.status).toBe('skipped');
  expect(step.detail).toContain(
    `no storage.quarantine: the ${purged} file(s) the reset's purge deleted (S3 objects and Disk files alike) are gone for good`,
  );
  expect(renderResult(r as never, ANSI)).toContain(
    ANSI.red(`  storage: ${purged} purged file(s) did not come back: their blob rows point at missing files`),
  );
});
