/**
 * An end-to-end fixture: a fresh demo database (and queue database), its objects under a key prefix
 * of their own in the stack's bucket, a targets file, the stand-in Solid Queue service, and workers
 * as real child processes that a test can SIGKILL. Each fixture has its own target name and task
 * queue, so fixtures never see each other's runs.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Client as PgClient } from 'pg';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { demoTarget, type DemoTargetOptions } from '../../demo/target';
import type { TargetConfigInput } from '../../src/config/types';
import { load, type GenerateReport } from '../../demo/generate';
import {
  resetWorkflowId,
  restoreWorkflowId,
  type ResetInput,
  type RestoreInput,
  WORKFLOW_TASK_TIMEOUT,
} from '../../src/contract';
import type { productionDataReset, restoreFromBackup } from '../../src/workflows';
import { REPO_ROOT, temporalAddress, workflowBundlePath } from './temporal';
import { dataConverterFromEnv } from '../../src/encryption/data-converter';

export interface FixtureOptions {
  separateQueue?: boolean;
  seeds?: 'sql' | 'command';
  scale?: string | number;
  pageSize?: number;
  target?: Partial<DemoTargetOptions>;
  /** The demo data set's seed (same seed, same rows); default the fixture's id. Transcripts use a fixed one. */
  seed?: string;
  /** RR_CODEC_KEYS for the workers and the fixture's client: payloads encrypted in history. */
  codecKeys?: string;
}

export interface WorkerProcess {
  child: ChildProcess;
  log: () => string;
  kill: (signal?: NodeJS.Signals) => Promise<void>;
}

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the tests with scripts/test (it starts the stack)`);
  return v;
}

export class ResetFixture {
  readonly id = randomBytes(4).toString('hex');
  readonly target = `e2e-${this.id}`;
  readonly taskQueue = `reset-runbook-e2e-${this.id}`;
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), `rr-e2e-${this.id}-`));
  readonly dbName = `rr_e2e_${this.id}`;
  /** A distinctive secret for the database URL and the S3 secret key: tests grep for it. */
  readonly secret = `pw-${randomBytes(6).toString('hex')}`;
  readonly prefix = `e2e-${this.id}/`;
  readonly otherAppPrefix = `other-app-${this.id}/`;
  readonly bucket = need('RR_S3_BUCKET');
  readonly endpoint = need('RR_S3_ENDPOINT');
  readonly pidFile = path.join(this.dir, 'solid_queue.pid');
  readonly backupDir = path.join(this.dir, 'backups');
  dbUrl: string;
  queueDbUrl?: string;
  targetsFile = path.join(this.dir, 'targets.json');
  report!: GenerateReport;
  client!: Client;
  private connection?: Connection;
  private workers: WorkerProcess[] = [];
  private workersStarted = 0;

  constructor(readonly opts: FixtureOptions = {}) {
    const admin = new URL(need('RR_PG_ADMIN_URL'));
    // The stack's cluster trusts loopback, so this password is ignored by the server; it is here so
    // that tests can prove it never reaches history, results or logs.
    admin.password = this.secret;
    admin.pathname = `/${this.dbName}`;
    this.dbUrl = admin.toString();
    if (opts.separateQueue) {
      admin.pathname = `/${this.dbName}_queue`;
      this.queueDbUrl = admin.toString();
    }
  }

  /** The worker's environment: the secrets live here, under the names the targets file gives. */
  get workerEnv(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      RESET_RUNBOOK_TARGETS: this.targetsFile,
      RR_TASK_QUEUE: this.taskQueue,
      AWS_SECRET_ACCESS_KEY: `s3-${this.secret}`,
      E2E_DATABASE_URL: this.dbUrl,
      ...(this.queueDbUrl ? { E2E_QUEUE_DATABASE_URL: this.queueDbUrl } : {}),
      ...(this.opts.codecKeys ? { RR_CODEC_KEYS: this.opts.codecKeys } : {}),
    };
  }

  async setup(): Promise<this> {
    // The targets file needs nothing from the data: written first, the data load and the connection overlap.
    this.writeTargets();
    await Promise.all([this.loadData(), this.connect()]);
    return this;
  }

  /** The fixture's Temporal client (payloads sealed when the fixture has codec keys). */
  private async connect(): Promise<void> {
    this.connection = await Connection.connect({ address: temporalAddress() });
    const dataConverter = dataConverterFromEnv({ RR_CODEC_KEYS: this.opts.codecKeys });
    this.client = new Client({ connection: this.connection, ...(dataConverter ? { dataConverter } : {}) });
  }

  /**
   * setup(), the Solid Queue stand-in started and the first workers (one per env in `workers`), in the time of the
   * slowest: a worker's boot (node, tsx, the SDK: several seconds, most of a short test's set-up) needs only the
   * targets file, so it runs while the data loads and the service starts instead of after them.
   */
  async setupWithWorkers(workers: NodeJS.ProcessEnv[]): Promise<WorkerProcess[]> {
    this.writeTargets(); // before any worker reads it, and not again while they boot
    const booting = Promise.all(workers.map((env) => this.startWorker(env)));
    booting.catch(() => undefined); // awaited below: no unhandled rejection while the data loads
    await Promise.all([this.loadData(), this.connect()]);
    if (this.service('start') !== 0) throw new Error('the stand-in Solid Queue service did not start');
    return booting;
  }

  /** The demo data set (fresh), its objects under this fixture's prefix unless `storage` is false. */
  async loadData(opts: { storage?: boolean } = {}): Promise<GenerateReport> {
    this.report = (await load({
      databaseUrl: this.dbUrl,
      queueDatabaseUrl: this.queueDbUrl,
      scale: this.opts.scale ?? 'small',
      seed: this.opts.seed ?? this.id,
      fresh: true,
      ...(opts.storage === false
        ? {}
        : {
            storage: {
              bucket: this.bucket,
              endpoint: this.endpoint,
              prefix: this.prefix,
              otherAppPrefix: this.otherAppPrefix,
            },
          }),
    }))!;
    return this.report;
  }

  writeTargets(over: Partial<DemoTargetOptions> = {}): void {
    fs.writeFileSync(
      this.targetsFile,
      JSON.stringify({ targets: { [this.target]: this.targetConfig(over) } }, null, 2),
    );
  }

  /**
   * This fixture's target as the targets file holds it (the demo's, for this fixture's database, prefix and folders).
   */
  targetConfig(over: Partial<DemoTargetOptions> = {}): TargetConfigInput {
    return demoTarget({
      urlEnv: 'E2E_DATABASE_URL',
      queueUrlEnv: this.queueDbUrl ? 'E2E_QUEUE_DATABASE_URL' : undefined,
      bucket: this.bucket,
      endpoint: this.endpoint,
      prefix: this.prefix,
      backupDir: this.backupDir,
      pidFile: this.pidFile,
      seeds: this.opts.seeds,
      pageSize: this.opts.pageSize,
      ...this.opts.target,
      ...over,
    });
  }

  /** The environment the stand-in Solid Queue service runs with, as the target's workers commands give it. */
  get serviceEnv(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      SQ_PID_FILE: this.pidFile,
      DATABASE_URL: this.dbUrl,
      QUEUE_DATABASE_URL: this.queueDbUrl ?? '',
      SQ_HEARTBEAT_SECONDS: '1',
    };
  }

  /** The stand-in Solid Queue service, as the target's own start command would run it. */
  service(cmd: 'start' | 'stop' | 'status'): number {
    try {
      execFileSync(path.join(REPO_ROOT, 'scripts', 'solid-queue-service'), [cmd], {
        env: this.serviceEnv,
        stdio: 'pipe',
      });
      return 0;
    } catch (e) {
      return (e as { status: number }).status ?? 1;
    }
  }

  async startWorker(extraEnv: NodeJS.ProcessEnv = {}): Promise<WorkerProcess> {
    const encrypted = !!(extraEnv.RR_CODEC_KEYS ?? this.workerEnv.RR_CODEC_KEYS);
    // Numbered before the await: workers started at once (Promise.all) each get a log of their own.
    const logFile = path.join(this.dir, `worker-${++this.workersStarted}.log`);
    const w = await spawnWorker({ env: this.workerEnv, extraEnv, logFile, encodedFailures: encrypted });
    this.workers.push(w);
    return w;
  }

  start(input: Omit<ResetInput, 'target'> = {}, workflowId?: string) {
    const full: ResetInput = { target: this.target, ...input };
    return this.client.workflow.start<typeof productionDataReset>('productionDataReset', {
      taskQueue: this.taskQueue,
      workflowId:
        workflowId ?? (full.mode === 'execute' ? resetWorkflowId(this.target) : `plan-${this.target}-${Date.now()}`),
      args: [full],
      workflowTaskTimeout: WORKFLOW_TASK_TIMEOUT,
    });
  }

  /** A restore of this fixture's target, under its fixed workflow id. */
  startRestore(input: Omit<RestoreInput, 'target'> = {}) {
    return this.client.workflow.start<typeof restoreFromBackup>('restoreFromBackup', {
      taskQueue: this.taskQueue,
      workflowId: restoreWorkflowId(this.target),
      args: [{ target: this.target, ...input }],
    });
  }

  async sql<T = Record<string, unknown>>(text: string, params: unknown[] = [], url = this.dbUrl): Promise<T[]> {
    const c = new PgClient({ connectionString: url });
    await c.connect();
    try {
      return (await c.query(text, params)).rows as T[];
    } finally {
      await c.end();
    }
  }

  async count(table: string, url = this.dbUrl): Promise<number> {
    return Number((await this.sql<{ n: string }>(`SELECT count(*) AS n FROM ${table}`, [], url))[0].n);
  }

  /** Every key (with size) under a prefix of the stack's bucket. */
  async objects(prefix = this.prefix): Promise<Map<string, number>> {
    const s3 = new S3Client({
      endpoint: this.endpoint,
      forcePathStyle: true,
      region: process.env.AWS_REGION ?? 'us-east-1',
    });
    const out = new Map<string, number>();
    let token: string | undefined;
    do {
      const r = await s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of r.Contents ?? []) out.set(o.Key!, Number(o.Size));
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    s3.destroy();
    return out;
  }

  async cleanup(): Promise<void> {
    for (const w of this.workers) await w.kill('SIGKILL').catch(() => undefined);
    this.service('stop');
    await this.connection?.close().catch(() => undefined);
    const c = new PgClient({ connectionString: need('RR_PG_ADMIN_URL') });
    await c.connect();
    for (const db of [this.dbName, `${this.dbName}_queue`, `${this.dbName}_restore`])
      await c.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
    await c.end();
    if (!process.env.RR_KEEP_TEST_FILES) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A worker process (src/worker.ts with the prebuilt workflow bundle), ready once it polls; its output
 * goes to `logFile`; `extraEnv` wins over the bundle's path. The caller kills it (WorkerProcess.kill) in its cleanup.
 */
export async function spawnWorker(o: {
  env: NodeJS.ProcessEnv;
  extraEnv?: NodeJS.ProcessEnv;
  logFile: string;
  encodedFailures?: boolean;
}): Promise<WorkerProcess> {
  const bundle = await workflowBundlePath({ encodedFailures: o.encodedFailures });
  const out = fs.openSync(o.logFile, 'a');
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', path.join(REPO_ROOT, 'src', 'worker.ts')], {
    cwd: REPO_ROOT,
    env: { ...o.env, RR_WORKFLOW_BUNDLE: bundle, ...o.extraEnv },
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const w: WorkerProcess = {
    child,
    log: () => fs.readFileSync(o.logFile, 'utf8'),
    kill: async (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
  const deadline = Date.now() + 60_000;
  while (!w.log().includes('reset-runbook worker: task queue')) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`worker exited at start:\n${w.log()}`);
    if (Date.now() > deadline) {
      await w.kill();
      throw new Error(`worker did not start in 60 s:\n${w.log()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return w;
}

export async function fixture(opts: FixtureOptions = {}): Promise<ResetFixture> {
  return new ResetFixture(opts).setup();
}
