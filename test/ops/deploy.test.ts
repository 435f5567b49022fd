/**
 * The deployment files: docker-compose.yml passes Debian's `docker-compose config -q`; the
 * Dockerfile is multi-stage and runs as a non-root user; the systemd unit passes
 * `systemd-analyze verify`; the example targets files pass the worker's own validation.
 * No server needed.
 *
 *   RR_NO_STACK=1 npx jest --runInBand test/ops/deploy.test.ts
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { validateTargetsFile } from '../../src/config/load';
import { WORKER_MALLOC_ENV, WORKER_NODE_FLAGS } from '../../bench/lib/worker-process';
import { REPO, run } from '../cli/harness';

const read = (p: string) => fs.readFileSync(path.join(REPO, p), 'utf8');

test('docker-compose config -q accepts docker-compose.yml', async () => {
  const r = await run('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { env: {} });
  expect({ code: r.code, stderr: r.stderr.trim() }).toEqual({ code: 0, stderr: '' });
  const full = await run('docker-compose', ['-f', 'docker-compose.yml', 'config']);
  const services = (/^services:\n([\s\S]*?)^\S/m.exec(full.stdout)?.[1] ?? '')
    .match(/^ {2}[a-z-]+:/gm)
    ?.map((s) => s.trim().replace(':', ''));
  expect(services?.sort()).toEqual([
    'app-db',
    'minio',
    'minio-setup',
    'temporal',
    'temporal-db',
    'temporal-setup',
    'temporal-ui',
    'worker',
  ]);
  // Temporal persists in PostgreSQL; the search attributes the runbook sets get registered.
  expect(full.stdout).toMatch(/DB: postgres12/);
  expect(read('deploy/temporal/register-search-attributes.sh')).toMatch(
    /for name in ResetTarget ResetStep ResetOutcome/,
  );
});

test('the Dockerfile builds in one stage and runs in a slim one as a non-root user, with pg_dump of PG_MAJOR', () => {
  const df = read('Dockerfile');
  expect(df.match(/^FROM /gm)).toHaveLength(2);
  expect(df).toMatch(/^FROM node:24-bookworm AS build$/m);
  expect(df).toMatch(/^FROM node:24-bookworm-slim AS runtime$/m);
  expect(df).toMatch(/postgresql-client-\$\{PG_MAJOR\}/);
  const user = /^USER (\S+)$/m.exec(df)?.[1];
  expect(user).toBe('runbook');
  expect(df).toMatch(/useradd --system --uid 10001/);
  expect(df).toMatch(/^CMD \["node", .*"dist\/src\/worker\.js"\]$/m);
  // Whatever the runtime stage copies must exist in the build stage's output.
  expect(read('.dockerignore')).toMatch(/^node_modules$/m);
});

test('systemd-analyze verify accepts the worker unit', async () => {
  const unit = path.join(REPO, 'deploy', 'reset-runbook-worker.service');
  const r = await run('systemd-analyze', ['verify', unit]);
  // Only complaints about this unit count (the host's own units may have theirs).
  const ours = r.stderr.split('\n').filter((l) => l.includes('reset-runbook-worker'));
  expect(ours).toEqual([]);
  const text = fs.readFileSync(unit, 'utf8');
  expect(text).toMatch(/^User=runbook$/m);
  expect(text).toMatch(/^EnvironmentFile=\/etc\/reset-runbook\/worker.env$/m);
  expect(text).toMatch(/^ExecStart=\/usr\/bin\/node (--[a-z-]+=\S+ )*\/opt\/reset-runbook\/dist\/src\/worker.js$/m);
});

test('every way of starting the worker sets the same malloc thresholds (docs/operators/deploy.md)', () => {
  const want = Object.entries(WORKER_MALLOC_ENV).map(([k, v]) => `${k}=${v}`);
  expect(want).toEqual(['MALLOC_MMAP_THRESHOLD_=131072', 'MALLOC_TRIM_THRESHOLD_=131072']);
  const setIn = (text: string) => want.filter((kv) => new RegExp(`(^|\\s)${kv}(\\s|$)`, 'm').test(text));
  // The image's ENV, the unit's Environment=, the demo's worker, and the docs that tell everyone else.
  expect(setIn(read('Dockerfile'))).toEqual(want);
  expect(setIn(/^Environment=(MALLOC.*)$/m.exec(read('deploy/reset-runbook-worker.service'))?.[1] ?? '')).toEqual(want);
  expect(setIn(read('scripts/demo'))).toEqual(want);
  expect(setIn(read('docs/operators/deploy.md'))).toEqual(want);
});

test("every way of starting the worker gives node the same limits on V8's generations (docs/operators/deploy.md)", () => {
  expect(WORKER_NODE_FLAGS).toEqual(['--max-semi-space-size=4', '--heap-growing-percent=10']);
  const flags = WORKER_NODE_FLAGS.join(' ');
  // The node command line that starts the worker, in each place that starts it.
  expect(JSON.parse(/^CMD (\[.*\])$/m.exec(read('Dockerfile'))?.[1] ?? '[]')).toEqual([
    'node',
    ...WORKER_NODE_FLAGS,
    'dist/src/worker.js',
  ]);
  expect(/^ExecStart=(.*)$/m.exec(read('deploy/reset-runbook-worker.service'))?.[1]).toBe(
    `/usr/bin/node ${flags} /opt/reset-runbook/dist/src/worker.js`,
  );
  expect(read('scripts/demo')).toContain(`nohup node ${flags} --require tsx/cjs src/worker.ts`);
  expect(read('docs/operators/deploy.md')).toContain(`node ${flags} dist/src/worker.js`);
});

test("the example targets files pass the worker's validation", () => {
  const example = JSON.parse(read('deploy/targets.example.json'));
  expect(
    validateTargetsFile(example, {
      PRODUCTION_DATABASE_URL: 'postgres://x',
      PRODUCTION_QUEUE_DATABASE_URL: 'postgres://y',
    }),
  ).toEqual([]);
  const compose = JSON.parse(read('deploy/compose/targets.json'));
  expect(validateTargetsFile(compose, { APP_DATABASE_URL: 'postgres://x' })).toEqual([]);
  // The compose worker gets exactly the variable its targets file names.
  expect(read('docker-compose.yml')).toMatch(/APP_DATABASE_URL: postgres:\/\/app:/);
});
