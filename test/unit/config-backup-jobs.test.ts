/** backup.jobs in the targets file: bounded, whole, and 1 (the single pg_dump -Fc file) by default. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadTargetsFile } from '../../src/config/load';

const DB_ENV = { DB: 'postgres://x@y/z' };
const file = (backup: object) => {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rr-config-')), 'targets.json');
  fs.writeFileSync(f, JSON.stringify({ targets: { shop: { database: { urlEnv: 'DB' }, backup } } }));
  return f;
};
const problems = (backup: object): string[] => {
  try {
    loadTargetsFile(file(backup), DB_ENV);
    return [];
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
};

test('backup.jobs: 1 by default, a whole number from 1 to 64', () => {
  expect(loadTargetsFile(file({ dir: '/b' }), DB_ENV).targets.shop.backup.jobs).toBe(1);
  expect(loadTargetsFile(file({ dir: '/b', jobs: 4 }), DB_ENV).targets.shop.backup.jobs).toBe(4);
  for (const bad of [0, 2.5, 65, '2'])
    expect(problems({ dir: '/b', jobs: bad })).toEqual([
      'targets.shop.backup.jobs: expected a whole number from 1 to 64',
    ]);
});
