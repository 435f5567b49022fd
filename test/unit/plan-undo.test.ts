/**
 * The plan's undo line (activities/plan-undo.ts) for each storage setup: what can come back, and exactly what cannot.
 */
import { undoPlan } from '../../src/activities/plan-undo';
import type { StorageServiceConfig } from '../../src/config/types';
import { loadedTarget } from '../support/target-config';

const base = { database: { urlEnv: 'DB' }, backup: { dir: '/tmp/b' } };
const services = { amazon: { bucket: 'app-files' }, local: { kind: 'disk' as const, root: '/srv/storage' } };
const withQ = loadedTarget({ ...base, storage: { services, quarantine: { bucket: 'app-quarantine', days: 14 } } });
const withoutQ = loadedTarget({ ...base, storage: { services } });
const purged = (cfg: typeof withQ, ...names: string[]) =>
  names.map((name) => ({ name, svc: cfg.storage!.services[name] as StorageServiceConfig, files: 3 }));

test('with storage.quarantine, S3 and Disk files can come back, for as long as the quarantine keeps them', () => {
  expect(undoPlan(withQ, purged(withQ, 'amazon', 'local'))).toEqual({
    tables: true,
    files: 'quarantined',
    quarantineDays: 14,
    cannotComeBack: [],
    summary: 'tables and files can come back (quarantine kept 14 days)',
  });
  const noDays = loadedTarget({ ...base, storage: { services, quarantine: { bucket: 'app-quarantine' } } });
  expect(undoPlan(noDays, purged(noDays, 'amazon')).summary).toBe(
    "tables and files can come back (quarantine kept as long as the bucket's lifecycle rule keeps it: storage.quarantine.days is not set)",
  );
});

test('without storage.quarantine, each purged service is named as deleted for good, Disk as Disk', () => {
  const u = undoPlan(withoutQ, purged(withoutQ, 'amazon', 'local'));
  expect(u.files).toBe('not-quarantined');
  expect(u.cannotComeBack).toEqual([
    'files of service amazon (S3, bucket app-files; 3 blobs) are deleted for good: no storage.quarantine',
    'files of service local (Disk, /srv/storage; 3 blobs) are deleted for good: no storage.quarantine',
  ]);
  expect(u.summary).toBe(`tables can come back (the backup), but ${u.cannotComeBack.join('; ')}`);
});

test('no file deleted: only the tables are concerned', () => {
  expect(undoPlan(withoutQ, [])).toEqual({
    tables: true,
    files: 'none',
    cannotComeBack: [],
    summary: 'tables can come back (the backup); no file is deleted',
  });
});
