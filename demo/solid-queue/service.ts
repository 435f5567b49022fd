/**
 * A stand-in for `bin/jobs` (Solid Queue 1.x's supervisor in fork mode), behaving toward the database as
 * the real one does, so the runbook's "stop workers" / "start workers" steps meet what production has:
 *
 *   boot      supervisor registers; fails claims whose process is gone; prunes dead processes
 *             (heartbeat older than SQ_ALIVE_THRESHOLD_SECONDS); registers a Worker and a Dispatcher
 *             under it (supervisor_id). All three rows carry this process's pid: one OS process plays
 *             the supervisor and its two forks, so a SIGKILL takes them all, like a crashed host.
 *   running   heartbeats every SQ_HEARTBEAT_SECONDS; the worker claims ready executions and finishes
 *             them; the dispatcher moves due scheduled executions to ready; the supervisor prunes.
 *   SIGTERM / SIGINT   graceful: stop claiming, give in-flight jobs SQ_SHUTDOWN_TIMEOUT_SECONDS, release
 *             the remaining claims (back to ready), delete our process rows, exit 0.
 *   SIGQUIT   immediate exit, rows left behind (Solid Queue's QUIT).
 *   SIGKILL   nothing runs: the rows stay, their heartbeats go stale.
 * If our rows vanish under us (pruned elsewhere, or the table was truncated) the service stops and exits 1:
 * a reset that truncates under live workers is visible in the log.
 *
 * Run: QUEUE_DATABASE_URL=... node --require tsx/cjs demo/solid-queue/service.ts  (scripts/solid-queue-service
 * daemonizes it). Logs one line per event to stdout; never the database URL.
 */
import * as fs from 'fs';
import { Pool } from 'pg';
import { configFromEnv, ServiceConfig } from './config';
import { deregister, heartbeat, maintain, register, Registered } from './processes';
import { claim, dispatchDue, finish, releaseAll } from './worker';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function log(line: string): void {
  process.stdout.write(`${new Date().toISOString()} solid-queue[${process.pid}] ${line}\n`);
}

export class Service {
  private db: Pool;
  private supervisor?: Registered;
  private worker?: Registered;
  private dispatcher?: Registered;
  private stopping = false;
  private timers: NodeJS.Timeout[] = [];
  private inFlight = new Set<Promise<void>>();
  private workerBusy = false;
  private dispatcherBusy = false;

  constructor(private cfg: ServiceConfig) {
    this.db = new Pool({ connectionString: cfg.databaseUrl, max: 4 });
    this.db.on('error', (err) => log(`database connection error: ${err.message}`));
  }

  private ids(): number[] {
    return [this.supervisor, this.worker, this.dispatcher].filter((p): p is Registered => !!p).map((p) => p.id);
  }

  async start(): Promise<void> {
    const { pid } = process;
    const host = this.cfg.hostname;
    this.supervisor = await register(this.db, { kind: 'Supervisor', pid, hostname: host, metadata: {} });
    const m = await maintain(this.db, {
      excludingId: this.supervisor.id,
      aliveThresholdSeconds: this.cfg.aliveThresholdSeconds,
      failOrphaned: true,
    });
    if (m.deadProcesses || m.orphanedClaimsFailed) {
      log(
        `pruned ${m.deadProcesses} dead process(es), failed ${m.prunedClaimsFailed + m.orphanedClaimsFailed} claim(s) they held`,
      );
    }
    this.worker = await register(this.db, {
      kind: 'Worker',
      pid,
      hostname: host,
      supervisorId: this.supervisor.id,
      metadata: { polling_interval: this.cfg.workerPollSeconds, queues: '*', thread_pool_size: this.cfg.threads },
    });
    this.dispatcher = await register(this.db, {
      kind: 'Dispatcher',
      pid,
      hostname: host,
      supervisorId: this.supervisor.id,
      metadata: {
        polling_interval: this.cfg.dispatcherPollSeconds,
        batch_size: 500,
        concurrency_maintenance_interval: 600,
      },
    });
    log(
      `started: supervisor ${this.supervisor.id}, worker ${this.worker.id}, dispatcher ${this.dispatcher.id} on ${host}`,
    );
    if (this.cfg.readyFile) fs.writeFileSync(this.cfg.readyFile, `${pid}\n`);

    this.every(this.cfg.heartbeatSeconds, () => this.beat());
    this.every(this.cfg.workerPollSeconds, () => this.pollWorker());
    this.every(this.cfg.dispatcherPollSeconds, () => this.pollDispatcher());
    this.every(this.cfg.aliveThresholdSeconds, async () => {
      await maintain(this.db, {
        excludingId: this.supervisor!.id,
        aliveThresholdSeconds: this.cfg.aliveThresholdSeconds,
        failOrphaned: false,
      });
    });
  }

  private every(seconds: number, fn: () => Promise<void>): void {
    const t = setInterval(
      () => {
        if (this.stopping) return;
        fn().catch((err: Error) => log(`error: ${err.message}`));
      },
      Math.max(50, seconds * 1000),
    );
    this.timers.push(t);
  }

  private async beat(): Promise<void> {
    const alive = await heartbeat(this.db, this.ids());
    if (alive.length < this.ids().length) {
      log('our process rows are gone (pruned, or the table was truncated under us): stopping');
      void this.stop('rows-gone', 1);
    }
  }

  private async pollWorker(): Promise<void> {
    if (this.workerBusy || !this.worker) return;
    this.workerBusy = true;
    try {
      const jobIds = await claim(this.db, this.worker.id, this.cfg.threads);
      await Promise.all(jobIds.map((id) => this.track(this.perform(id))));
    } finally {
      this.workerBusy = false;
    }
  }

  private async perform(jobId: number): Promise<void> {
    if (this.cfg.jobSeconds > 0) await sleep(this.cfg.jobSeconds * 1000);
    if (this.stopping && this.cfg.jobSeconds > 0) return; // interrupted: the claim is released at shutdown
    if (await finish(this.db, this.worker!.id, jobId)) log(`performed job ${jobId}`);
  }

  private track(p: Promise<void>): Promise<void> {
    this.inFlight.add(p);
    return p.finally(() => this.inFlight.delete(p));
  }

  private async pollDispatcher(): Promise<void> {
    if (this.dispatcherBusy) return;
    this.dispatcherBusy = true;
    try {
      const n = await dispatchDue(this.db, 500);
      if (n) log(`dispatched ${n} scheduled job(s)`);
    } finally {
      this.dispatcherBusy = false;
    }
  }

  async stop(reason: string, exitCode = 0): Promise<never> {
    if (this.stopping) return new Promise<never>(() => undefined);
    this.stopping = true;
    log(`stopping (${reason})`);
    for (const t of this.timers) clearInterval(t);
    const deadline = sleep(this.cfg.shutdownTimeoutSeconds * 1000);
    await Promise.race([Promise.allSettled([...this.inFlight]), deadline]);
    try {
      if (this.worker) {
        const released = await releaseAll(this.db, this.worker.id);
        if (released) log(`released ${released} claimed job(s) back to ready`);
      }
      await deregister(this.db, this.ids());
      log('deregistered; bye');
    } catch (err) {
      log(`error while stopping: ${(err as Error).message}`);
      exitCode = exitCode || 1;
    }
    if (this.cfg.readyFile) fs.rmSync(this.cfg.readyFile, { force: true });
    // No pool.end(): it waits for any poll still checked out; exiting closes the sockets anyway.
    process.exit(exitCode);
  }
}

async function main(): Promise<void> {
  let cfg: ServiceConfig;
  try {
    cfg = configFromEnv();
  } catch (err) {
    log(`cannot start: ${(err as Error).message}`);
    process.exit(2);
  }
  const service = new Service(cfg);
  process.on('SIGTERM', () => void service.stop('SIGTERM'));
  process.on('SIGINT', () => void service.stop('SIGINT'));
  process.on('SIGQUIT', () => {
    log('SIGQUIT: exiting at once, leaving our rows');
    process.exit(0);
  });
  try {
    await service.start();
  } catch (err) {
    log(`cannot start: ${(err as Error).message}`);
    process.exit(1);
  }
}

if (require.main === module) void main();
