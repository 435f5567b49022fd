/**
 * backup.jobs: 2 when something fails, on the real stack (pg_dump, moto, a real folder), calling the
 * backup activity in an activity context: a pg_dump that fails leaves no folder, partial or whole; a
 * read-back that pg_restore rejects removes the S3 object, so no dump passes for a backup; neither
 * leaves a scratch folder behind.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createBackupActivities } from '../../src/activities/backup';
import { loadTargetsFile } from '../../src/config/load';
import { fixture, type ResetFixture } from '../support/fixture';
import { stackEnv } from '../support/stack-env';

let f: ResetFixture;
jest.setTimeout(120_000);
afterEach(async () => {
  await f?.cleanup();
});

const backup = () =>
  new MockActivityEnvironment().run(
    createBackupActivities({ targets: loadTargetsFile(f.targetsFile, f.workerEnv), env: f.workerEnv }).backupDatabase,
    { target: f.target },
  );

/** A script beside the fixture: the real binary's behaviour, changed as the test needs. */
function script(name: string, body: string): string {
  const file = path.join(f.dir, name);
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

function configure(backupOver: Record<string, unknown>): void {
  const file = JSON.parse(fs.readFileSync(f.targetsFile, 'utf8'));
  Object.assign(file.targets[f.target].backup, { jobs: 2 }, backupOver);
  fs.writeFileSync(f.targetsFile, JSON.stringify(file, null, 2));
}

test('a pg_dump -Fd that fails after writing part of its folder leaves no folder behind', async () => {
  f = await fixture();
  const real = path.join(stackEnv().pgBin, 'pg_dump');
  // The whole dump is written, then pg_dump "fails": the folder must not survive as a backup.
  configure({ pgDump: script('pg_dump', `"${real}" "$@" || exit $?\necho "disk on fire" >&2; exit 1`) });
  await expect(backup()).rejects.toThrow(/pg_dump -Fd -j 2 of database "primary" exited with code 1: disk on fire/);
  expect(fs.existsSync(f.backupDir) ? fs.readdirSync(f.backupDir) : []).toEqual([]);
});

test('to S3: an object whose read-back pg_restore --list rejects is removed, and no scratch folder is left', async () => {
  f = await fixture();
  const prefix = `jobs-fail-${f.id}/`;
  const real = path.join(stackEnv().pgBin, 'pg_restore');
  const scratch = path.join(f.dir, 'scratch');
  configure({
    dir: scratch,
    destination: {
      kind: 's3',
      bucket: f.bucket,
      prefix,
      endpoint: f.endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
    },
    // --version and the rest as the real one; --list as a damaged archive would answer it.
    pgRestore: script(
      'pg_restore',
      `[ "$1" = "--list" ] && { echo "pg_restore: error: invalid TOC" >&2; exit 1; }\nexec "${real}" "$@"`,
    ),
  });
  await expect(backup()).rejects.toThrow(
    /pg_restore --list rejected the uploaded dump of database "primary" .*invalid TOC/,
  );
  expect([...(await f.objects(prefix)).keys()]).toEqual([]);
  expect(fs.readdirSync(scratch)).toEqual([]);
});
