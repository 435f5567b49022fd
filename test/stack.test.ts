/**
 * The local stack (scripts/stack) and the runner's contract with it: the services answer, a second
 * `up` changes nothing, a stack can be brought up from nothing elsewhere and stopped exactly, and a
 * taken port is refused in one line.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { HeadBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client } from 'pg';
import { STACK_SCRIPT, stackEnv, stackEnvFor } from './support/stack-env';

const run = promisify(execFile);
jest.setTimeout(300_000);

interface StackRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs scripts/stack with `env` layered over process.env; never throws on a non-zero exit. */
function stack(args: string[], env: NodeJS.ProcessEnv = {}): StackRun {
  const r = spawnSync(STACK_SCRIPT, args, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 280_000 });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function recordedPids(stateDir: string): Record<string, number> {
  const pids: Record<string, number> = {};
  for (const svc of ['temporal', 'postgres', 's3']) {
    const f = path.join(stateDir, `${svc}.pid`);
    if (fs.existsSync(f)) pids[svc] = Number(fs.readFileSync(f, 'utf8').trim().split(/\s+/)[0]);
  }
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Ports that were free a moment ago (the OS picks them). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const s = net.createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

async function httpStatus(url: string): Promise<number> {
  const res = await fetch(url);
  await res.arrayBuffer();
  return res.status;
}

describe('the running stack', () => {
  const env = stackEnv();

  test('Temporal answers its health check and has the runbook search attributes', async () => {
    const connection = await Connection.connect({ address: env.temporalAddress });
    try {
      const health = await connection.healthService.check({});
      expect(health.status).toBe(1); // SERVING
      const { stdout } = await run(env.temporalBin, [
        'operator',
        'search-attribute',
        'list',
        '--address',
        env.temporalAddress,
        '--namespace',
        env.temporalNamespace,
      ]);
      for (const attr of ['ResetTarget', 'ResetStep', 'ResetOutcome']) {
        expect(stdout).toMatch(new RegExp(`${attr}\\s+Keyword`));
      }
    } finally {
      await connection.close();
    }
  });

  test('PostgreSQL answers a query, and RR_PG_BIN has the client tools of its major version', async () => {
    const client = new Client({ connectionString: env.pgAdminUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ v: string }>("select current_setting('server_version_num') as v");
      const major = Math.floor(Number(rows[0].v) / 10000);
      for (const tool of ['pg_dump', 'pg_restore', 'psql']) {
        const out = execFileSync(path.join(env.pgBin, tool), ['--version'], { encoding: 'utf8' });
        expect(out).toMatch(new RegExp(`\\b${major}\\.`));
      }
    } finally {
      await client.end();
    }
  });

  test('S3 lists the bucket, pages with continuation tokens', async () => {
    const s3 = new S3Client({
      endpoint: env.s3Endpoint,
      forcePathStyle: true,
      region: env.aws.region,
      credentials: { accessKeyId: env.aws.accessKeyId, secretAccessKey: env.aws.secretAccessKey },
    });
    try {
      await s3.send(new HeadBucketCommand({ Bucket: env.s3Bucket }));
      const prefix = `stack-test/${process.pid}-${Date.now()}/`;
      for (let i = 0; i < 5; i++) {
        await s3.send(new PutObjectCommand({ Bucket: env.s3Bucket, Key: `${prefix}${i}`, Body: `object ${i}` }));
      }
      const keys: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({ Bucket: env.s3Bucket, Prefix: prefix, MaxKeys: 2, ContinuationToken: token }),
        );
        keys.push(...(page.Contents ?? []).map((o) => o.Key as string));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
        pages++;
      } while (token);
      expect(keys.sort()).toEqual([0, 1, 2, 3, 4].map((i) => `${prefix}${i}`));
      expect(pages).toBe(3);
    } finally {
      s3.destroy();
    }
  });

  test('a second `scripts/stack up` is a no-op: same pids, and it says so', () => {
    const before = recordedPids(env.stateDir);
    expect(Object.keys(before).sort()).toEqual(['postgres', 's3', 'temporal']);
    const r = stack(['up']);
    expect(r.code).toBe(0);
    for (const svc of ['postgres', 's3', 'temporal']) {
      expect(r.stdout).toContain(`${svc}: already running (pid ${before[svc]}), nothing to do`);
    }
    expect(r.stdout).toContain('stack already up: nothing changed');
    expect(recordedPids(env.stateDir)).toEqual(before);
    expect(Object.values(before).every(alive)).toBe(true);
  });

  test('`scripts/stack env` prints export lines that a shell can load', () => {
    const out = execFileSync(
      'bash',
      ['-c', `eval "$("${STACK_SCRIPT}" env)" && echo "$TEMPORAL_ADDRESS|$RR_PG_ADMIN_URL|$RR_S3_ENDPOINT"`],
      {
        encoding: 'utf8',
        env: process.env,
      },
    );
    expect(out.trim()).toBe(`${env.temporalAddress}|${env.pgAdminUrl}|${env.s3Endpoint}`);
  });
});

describe('a stack brought up from nothing in another state dir, on other ports', () => {
  const main = stackEnv();
  let stateDir: string;
  let knobs: NodeJS.ProcessEnv;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-stack-test-'));
    const [temporal, ui, pg, s3] = await freePorts(4);
    knobs = {
      RR_STATE_DIR: stateDir,
      RR_TOOLS_DIR: main.toolsDir, // one install, shared
      RR_TEMPORAL_PORT: String(temporal),
      RR_TEMPORAL_UI_PORT: String(ui),
      RR_PG_PORT: String(pg),
      RR_S3_PORT: String(s3),
      RR_S3_BUCKET: 'stack-test-bucket',
    };
  });

  afterAll(() => {
    if (!stateDir) return;
    stack(['down'], knobs); // in case a test failed half-way
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('up, status, Web UI, then down stops exactly it', async () => {
    const mainPids = recordedPids(main.stateDir);

    const up = stack(['up'], knobs);
    expect(up.stderr + up.stdout).not.toMatch(/scripts\/stack: /); // no error line
    expect(up.code).toBe(0);
    for (const svc of ['postgres', 's3', 'temporal']) expect(up.stdout).toContain(`${svc}: started`);

    const status = stack(['status'], knobs);
    expect(status.code).toBe(0);
    expect(status.stdout.split('\n').filter((l) => /: running /.test(l))).toHaveLength(3);

    const other = stackEnvFor(knobs);
    expect(other.temporalAddress).toBe(`127.0.0.1:${knobs.RR_TEMPORAL_PORT}`);
    expect(await httpStatus(other.temporalUiUrl)).toBe(200);
    const health = await run(other.temporalBin, ['operator', 'cluster', 'health', '--address', other.temporalAddress]);
    expect(health.stdout).toContain('SERVING');
    const client = new Client({ connectionString: other.pgAdminUrl });
    await client.connect();
    expect((await client.query('select 1 as one')).rows[0].one).toBe(1);
    await client.end();
    const s3 = new S3Client({
      endpoint: other.s3Endpoint,
      forcePathStyle: true,
      region: other.aws.region,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    await s3.send(new HeadBucketCommand({ Bucket: 'stack-test-bucket' }));
    s3.destroy();

    const pids = recordedPids(stateDir);
    expect(Object.keys(pids).sort()).toEqual(['postgres', 's3', 'temporal']);
    expect(Object.values(pids).every(alive)).toBe(true);

    const down = stack(['down'], knobs);
    expect(down.code).toBe(0);
    for (const [svc, pid] of Object.entries(pids)) expect(down.stdout).toContain(`${svc}: stopped (pid ${pid})`);
    expect(Object.values(pids).some(alive)).toBe(false);
    expect(recordedPids(stateDir)).toEqual({});

    const after = stack(['status'], knobs);
    expect(after.code).not.toBe(0);
    expect(after.stdout.split('\n').filter((l) => /: stopped$/.test(l))).toHaveLength(3);

    // The main stack was not touched.
    expect(recordedPids(main.stateDir)).toEqual(mainPids);
    expect(Object.values(mainPids).every(alive)).toBe(true);
  });

  test('Temporal restarted on the same sqlite file keeps its runs', async () => {
    const temporalOnly = stack(['up', 'temporal'], knobs);
    expect(temporalOnly.code).toBe(0);
    const other = stackEnvFor(knobs);
    const wf = `stack-test-${Date.now()}`;
    await run(other.temporalBin, [
      'workflow',
      'start',
      '--address',
      other.temporalAddress,
      '--type',
      'Nothing',
      '--task-queue',
      'stack-test',
      '--workflow-id',
      wf,
    ]);
    const restart = stack(['restart-temporal'], knobs);
    expect(restart.code).toBe(0);
    expect(restart.stdout).toMatch(/temporal: stopped \(pid \d+\)/);
    expect(restart.stdout).toContain('temporal: started');
    const { stdout } = await run(other.temporalBin, [
      'workflow',
      'describe',
      '--address',
      other.temporalAddress,
      '--workflow-id',
      wf,
      '-o',
      'json',
    ]);
    expect(JSON.parse(stdout).workflowExecutionInfo.status).toMatch(/RUNNING/);
    expect(stack(['down', 'temporal'], knobs).code).toBe(0);
  });

  test('a port already taken by someone else gives one line naming the cause and the fix', async () => {
    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', () => r()));
    const port = (squatter.address() as net.AddressInfo).port;
    try {
      const r = stack(['up', 's3'], { ...knobs, RR_S3_PORT: String(port) });
      expect(r.code).not.toBe(0);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`port ${port} .*already taken.*RR_S3_PORT=`));
      expect(recordedPids(stateDir)).toEqual({});
    } finally {
      await new Promise((r) => squatter.close(r));
    }
  });
});

describe('global setup', () => {
  test('fails with what to do when the stack is not up', async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-stack-none-'));
    try {
      const [p1, p2, p3, p4] = await freePorts(4);
      const setup = path.join(__dirname, 'support', 'global-setup.ts');
      const tsx = path.join(__dirname, '..', 'node_modules', '.bin', 'tsx');
      const code =
        `require(${JSON.stringify(setup)}).default()` +
        `.then(() => { console.log('NO ERROR'); process.exit(0); }, (e) => { console.log(e.message); process.exit(3); });`;
      const r = spawnSync(tsx, ['-e', code], {
        encoding: 'utf8',
        env: {
          ...process.env,
          RR_STATE_DIR: stateDir,
          RR_TEMPORAL_PORT: String(p1),
          RR_TEMPORAL_UI_PORT: String(p2),
          RR_PG_PORT: String(p3),
          RR_S3_PORT: String(p4),
          RR_NO_STACK: '',
        },
      });
      expect(r.status).toBe(3);
      expect(r.stdout).toMatch(
        /the local stack is not up \(.*postgres: stopped.*\): run the tests with scripts\/test, or start it with scripts\/stack up/,
      );
    } finally {
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
