/** Issue 9's targets-file fields (tasks/config-contract.md): Disk services, purge:false, concurrency, sampleSize, plan. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadTargetsFile } from '../../src/config/load';
import { planSettings, storageSettings } from '../../src/config/defaults-storage';

const ENV = { DB: 'postgres://x@y/z' };

function load(target: Record<string, unknown>) {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rr-config-')), 'targets.json');
  fs.writeFileSync(file, JSON.stringify({ targets: { t: { database: { urlEnv: 'DB' }, backup: { dir: '/tmp/b' }, ...target } } }));
  try {
    return { file, loaded: loadTargetsFile(file, ENV), problems: [] as string[] };
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return { file, loaded: undefined, problems: (e as ConfigError).problems };
  }
}

test('a Disk service, an S3 service without "kind" and one with purge:false load; the Disk root resolves against the file', () => {
  const { file, loaded, problems } = load({
    storage: { services: { local: { kind: 'disk', root: 'storage' }, amazon: { bucket: 'b' }, archive: { kind: 's3', bucket: 'a', purge: false } }, concurrency: 8, sampleSize: 0 },
    plan: { exactCounts: true, estimateAboveRows: 0 },
  });
  expect(problems).toEqual([]);
  const t = loaded!.targets.t;
  expect(t.storage!.services.local).toEqual({ kind: 'disk', root: path.join(path.dirname(file), 'storage') });
  expect(storageSettings(t.storage)).toEqual({ pageSize: 1000, concurrency: 8, sampleSize: 0 });
  expect(planSettings(t.plan)).toEqual({ exactCounts: true, estimateAboveRows: 0 });
  expect(planSettings(t.plan, false).exactCounts).toBe(false); // ResetInput.exactCounts wins
});

test('the defaults: pageSize 1000, concurrency 4, sampleSize 100, estimates from 100,000 rows', () => {
  expect(storageSettings(undefined)).toEqual({ pageSize: 1000, concurrency: 4, sampleSize: 100 });
  expect(planSettings(undefined)).toEqual({ exactCounts: false, estimateAboveRows: 100000 });
});

test('each bad value is named with its field', () => {
  const { problems } = load({
    storage: {
      services: { a: { kind: 'disk' }, b: { kind: 'disk', root: 'r', bucket: 'x' }, c: { kind: 'ftp' }, d: { bucket: 'b', purge: 'no' } },
      concurrency: 33,
      sampleSize: 1001,
      pageSize: 2.5,
    },
    plan: { exactCounts: 'yes', estimateAboveRows: -1 },
  });
  expect(problems).toEqual(
    expect.arrayContaining([
      'targets.t.storage.concurrency: expected a whole number from 1 to 32',
      'targets.t.storage.sampleSize: expected a whole number from 0 to 1000',
      'targets.t.storage.pageSize: expected a whole number from 1 to 1000',
      'targets.t.storage.services.a.root: expected a non-empty string',
      'targets.t.storage.services.b.bucket: not for a "disk" service (it has only "root" and "purge")',
      'targets.t.storage.services.c.kind: expected "s3" (the default) or "disk"',
      'targets.t.storage.services.d.purge: expected true or false',
      'targets.t.plan.exactCounts: expected true or false',
      'targets.t.plan.estimateAboveRows: expected a whole number >= 0',
    ]),
  );
  expect(problems).toHaveLength(9);
});
