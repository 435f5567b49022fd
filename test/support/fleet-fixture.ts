/**
 * A fleet on the real stack: N demo targets in ONE targets file, each a ResetFixture of its own (its
 * database on the stack's PostgreSQL, loaded with the demo generator at the small scale, its key
 * prefix in the stack's bucket, its stand-in Solid Queue service), a group of them in that file, and
 * any number of real worker processes (src/worker.ts) on the fleet's task queue, each with its own
 * host name (RESET_RUNBOOK_HOST) and log, that a test can SIGKILL.
 *
 * Every target's environment is "staging" (the demo's says production, and a production child asks
 * for its own approval), so the fleet's one approval covers them all. Backups go to each target's own
 * folder, or (backup "s3") to one S3 destination that every worker reaches.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  Client,
  Connection,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Client as PgClient } from 'pg';
import type { DemoTargetOptions } from '../../demo/target';
import { countAll, load } from '../../demo/generate';
import type { TargetConfigInput } from '../../src/config/types';
import {
  resetWorkflowId,
  FLEET_WORKFLOW_TYPE,
  fleetProgressQuery,
  fleetWorkflowId,
  type FleetInput,
  type FleetProgress,
  type FleetResult,
} from '../../src/contract';
import { ResetFixture, spawnWorker, type WorkerProcess } from './fixture';
import { temporalAddress } from './temporal';

export interface MemberOptions {
  /** ActiveStorage rows and their objects under the member's own prefix (default false: database only, faster). */
  storage?: boolean;
  /** The stand-in Solid Queue service, stopped and started by the target's commands (default false). */
  workers?: boolean;
  /**
   * Its backup fails, once (a pg_dump that answers --version, so the plan passes, and cannot connect):
   * the child pauses for an operator before anything is touched.
   */
  failingBackup?: boolean;
  /** Anything else of the target. */
  target?: Partial<DemoTargetOptions>;
  /** Last changes to the target's config as written (e.g. a slower stop command). */
  edit?: (t: TargetConfigInput) => void;
}

export interface FleetFixtureOptions {
  targets: number;
  /** Each member's options, by its index (0-based, the group's order). */
  member?: (i: number) => MemberOptions;
  /** "local": each target's own folder (default); "s3": one destination in the stack's bucket for every worker. */
  backup?: 'local' | 's3';
  /** Every target's timing (the demo's: heartbeat timeout 5 s, 3 attempts, lock timeout 5 s). */
  timing?: DemoTargetOptions['timing'];
}

export interface Member {
  index: number;
  /**
   * The target's name (the group's i-th), database, prefix, service and counts: a ResetFixture that is never set up on
   * its own.
   */
  fx: ResetFixture;
  opts: MemberOptions;
  /** The env variable that holds this target's database URL in the workers' environment. */
  urlEnv: string;
}

export interface FleetWorker extends WorkerProcess {
  name: string;
  host: string;
  /** The Temporal identity it polls under (the SDK's default: pid@hostname). */
  identity: string;
}

/** Tables the stand-in Solid Queue service itself writes while it runs (its processes, claims and executions). */
const SERVICE_WRITES = /^solid_queue_(?!jobs$)/;

export class FleetFixture {
  readonly id = randomBytes(4).toString('hex');
  readonly name = `fleet-e2e-${this.id}`;
  readonly group = `group-${this.id}`;
  readonly taskQueue = `reset-runbook-fleet-${this.id}`;
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), `rr-fleet-${this.id}-`));
  readonly targetsFile = path.join(this.dir, 'targets.json');
  readonly backupPrefix = `fleet-${this.id}/backups/`;
  readonly members: Member[];
  /** A database with the schema and the seeds only: what a reset target's tables must count. */
  readonly seedsDbName = `rr_fleet_${this.id}_seeds`;
  client!: Client;
  private connection?: Connection;
  private workers: FleetWorker[] = [];

  constructor(readonly opts: FleetFixtureOptions) {
    this.members = Array.from({ length: opts.targets }, (_, index) => ({
      index,
      fx: new ResetFixture(),
      opts: opts.member?.(index) ?? {},
      urlEnv: `FLEET_${index}_DATABASE_URL`,
    }));
  }

  get targets(): string[] {
    return this.members.map((m) => m.fx.target);
  }

  member(target: string): Member {
    const m = this.members.find((x) => x.fx.target === target);
    if (!m) throw new Error(`no member ${target}`);
    return m;
  }

  /**
   * Loads every database (a few at a time), marks it staging, starts the services, writes the targets file, connects.
   */
  async setup(): Promise<this> {
    const queue = [...this.members];
    const lane = async () => {
      for (let m = queue.shift(); m; m = queue.shift()) {
        await m.fx.loadData({ storage: !!m.opts.storage });
        await m.fx.sql(`UPDATE ar_internal_metadata SET value = 'staging' WHERE key = 'environment'`);
      }
    };
    await Promise.all([lane(), lane(), lane()]);
    await load({ databaseUrl: this.urlOf(this.seedsDbName), fresh: true, schemaOnly: true });
    this.writeTargets();
    for (const m of this.members)
      if (m.opts.workers && m.fx.service('start') !== 0)
        throw new Error(`the stand-in Solid Queue service of ${m.fx.target} did not start`);
    this.connection = await Connection.connect({ address: temporalAddress() });
    this.client = new Client({ connection: this.connection });
    return this;
  }

  /** The one targets file: every member, and the group of them all in order. */
  writeTargets(): void {
    const targets: Record<string, TargetConfigInput> = {};
    for (const m of this.members) targets[m.fx.target] = this.targetConfig(m);
    fs.writeFileSync(this.targetsFile, JSON.stringify({ targets, groups: { [this.group]: this.targets } }, null, 2));
  }

  private targetConfig(m: Member): TargetConfigInput {
    const s3 = this.opts.backup === 's3';
    const t = m.fx.targetConfig({
      urlEnv: m.urlEnv,
      noWorkers: !m.opts.workers,
      timing: { ...this.opts.timing, ...(m.opts.failingBackup ? { maximumAttempts: 1 } : {}) },
      ...m.opts.target,
      backup: {
        ...(m.opts.failingBackup ? { pgDump: failingPgDump(this.dir) } : {}),
        ...(s3
          ? {
              dir: undefined,
              destination: {
                kind: 's3',
                bucket: m.fx.bucket,
                prefix: this.backupPrefix,
                endpoint: m.fx.endpoint,
                forcePathStyle: true,
                region: 'us-east-1',
              },
            }
          : {}),
        ...m.opts.target?.backup,
      },
    });
    if (!m.opts.storage) delete t.storage;
    m.opts.edit?.(t);
    return t;
  }

  /** The workers' environment: every member's database URL under its own name. */
  get workerEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      RESET_RUNBOOK_TARGETS: this.targetsFile,
      RR_TASK_QUEUE: this.taskQueue,
    };
    for (const m of this.members) env[m.urlEnv] = m.fx.dbUrl;
    return env;
  }

  /** A worker process on the fleet's task queue, as host `name`: its own identity and log. */
  async startWorker(name: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<FleetWorker> {
    const host = `${name}-${this.id}`;
    const w = await spawnWorker({
      env: { ...this.workerEnv, RESET_RUNBOOK_HOST: host },
      extraEnv,
      logFile: path.join(this.dir, `worker-${name}.log`),
    });
    const fw: FleetWorker = { ...w, name, host, identity: `${w.child.pid}@${os.hostname()}` };
    this.workers.push(fw);
    return fw;
  }

  /** A fleet run of the group under the fleet's id (an execute run must have it). */
  start(input: Omit<FleetInput, 'name' | 'group' | 'targets'> = {}): Promise<WorkflowHandle> {
    const full: FleetInput = { name: this.name, group: this.group, ...input };
    return this.client.workflow.start(FLEET_WORKFLOW_TYPE, {
      taskQueue: this.taskQueue,
      workflowId: full.mode === 'execute' ? fleetWorkflowId(this.name) : `plan-${this.name}-${Date.now()}`,
      args: [full],
    });
  }

  /**
   * The fleet's ending, completed or not (a fleet that did not complete fails with its result as the failure's
   * details).
   */
  async ending(h: WorkflowHandle): Promise<{ result: FleetResult; failed: boolean }> {
    try {
      return { result: (await h.result()) as FleetResult, failed: false };
    } catch (err) {
      const cause = err instanceof WorkflowFailedError ? err.cause : undefined;
      const result = cause instanceof ApplicationFailure ? (cause.details?.[0] as FleetResult | undefined) : undefined;
      if (!result) throw err;
      return { result, failed: true };
    }
  }

  async progress(h: WorkflowHandle): Promise<FleetProgress | undefined> {
    return h.query(fleetProgressQuery).catch(() => undefined);
  }

  /** Polls the fleet's progress until `pred` holds. */
  async waitFor(h: WorkflowHandle, pred: (p: FleetProgress) => boolean, ms = 90_000): Promise<FleetProgress> {
    const deadline = Date.now() + ms;
    let last: FleetProgress | undefined;
    for (;;) {
      last = (await this.progress(h)) ?? last;
      if (last && pred(last)) return last;
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for the fleet; last progress: ${JSON.stringify(last?.targets.map((t) => [t.target, t.status, t.step]))}`,
        );
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** The targets whose `reset-<target>` workflow exists on the server: the children that were started. */
  async childrenStarted(): Promise<string[]> {
    const out: string[] = [];
    for (const t of this.targets) {
      const found = await this.client.workflow
        .getHandle(resetWorkflowId(t))
        .describe()
        .then(() => true)
        .catch((e) => {
          if (e instanceof WorkflowNotFoundError) return false;
          throw e;
        });
      if (found) out.push(t);
    }
    return out;
  }

  /**
   * A target's tables, counted (the queue tables the running stand-in service writes left out: its
   * processes, claims and executions change under it; the jobs do not).
   */
  async counts(m: Member | string): Promise<Record<string, number>> {
    return dataCounts(await countAll((typeof m === 'string' ? this.member(m) : m).fx.dbUrl));
  }

  /** What a database holds right after its schema and seeds: a reset target must count the same. */
  async seedCounts(): Promise<Record<string, number>> {
    return dataCounts(await countAll(this.urlOf(this.seedsDbName)));
  }

  /** Every activity's worker identity in a child's history (ActivityTaskStarted), in order. */
  async activityIdentities(target: string): Promise<string[]> {
    const history = await this.client.workflow.getHandle(resetWorkflowId(target)).fetchHistory();
    return (history.events ?? [])
      .map((e) => e.activityTaskStartedEventAttributes?.identity)
      .filter((x): x is string => !!x);
  }

  private urlOf(db: string): string {
    const u = new URL(process.env.RR_PG_ADMIN_URL!);
    u.pathname = `/${db}`;
    return u.toString();
  }

  async cleanup(): Promise<void> {
    // A test that failed midway leaves no run behind on the server (the fleet, then its children).
    if (this.client) {
      for (const id of [fleetWorkflowId(this.name), ...this.targets.map(resetWorkflowId)]) {
        await this.client.workflow
          .getHandle(id)
          .terminate('test cleanup')
          .catch(() => undefined);
      }
    }
    for (const w of this.workers) await w.kill('SIGKILL').catch(() => undefined);
    // Each member stops its service, drops its databases and removes its folder.
    for (const m of this.members) await m.fx.cleanup().catch(() => undefined);
    await this.connection?.close().catch(() => undefined);
    const c = new PgClient({ connectionString: process.env.RR_PG_ADMIN_URL });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS "${this.seedsDbName}" WITH (FORCE)`);
    await c.end();
    if (!process.env.RR_KEEP_TEST_FILES) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A pg_dump that answers --version as the real one and fails every dump, as one that cannot reach the server would. */
function failingPgDump(dir: string): string {
  const file = path.join(dir, 'failing-pg_dump');
  const real = path.join(process.env.RR_PG_BIN ?? '/usr/bin', 'pg_dump');
  fs.writeFileSync(
    file,
    `#!/bin/sh\n[ "$1" = --version ] && exec ${real} --version\necho 'pg_dump: error: connection to server failed: FATAL: sorry, too many clients already' >&2\nexit 1\n`,
    {
      mode: 0o755,
    },
  );
  return file;
}

function dataCounts(all: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(all).filter(([t]) => !SERVICE_WRITES.test(t)));
}

export async function fleetFixture(opts: FleetFixtureOptions): Promise<FleetFixture> {
  const f = new FleetFixture(opts);
  try {
    return await f.setup();
  } catch (err) {
    await f.cleanup();
    throw err;
  }
}
