/**
 * What every fault scenario shares. One demo target on the real stack (test/support/fixture.ts: its
 * own database, key prefix, task queue), reloaded before each scenario, and two long-lived workers as
 * real processes — a standby always polls, as in production, so a recovery time measures the runbook
 * (heartbeat timeout, sticky queue, retry), not how long node takes to boot. Faults are switched on
 * per scenario through mode files that the target's wrapper commands read (pg_dump, stop, start) and
 * through the S3 fault proxy, so the targets file never changes under the workers. A second target on
 * the same database, with storage.quarantine and a pg_restore wrapper, is the restore scenarios' own.
 * The checks after each fault: every table's row count and the bucket listing, never logs.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { load } from '../../demo/generate';
import { ResetFixture, type WorkerProcess } from '../../test/support/fixture';
import { REPO_ROOT } from '../../test/support/temporal';
import { startChaosProxy, type ChaosProxy } from './chaos-proxy';
import { type Modes } from './types';

const SEEDS_SQL = path.join(REPO_ROOT, 'demo', 'db', 'seeds.sql');

const wrapper = (modeFile: string, body: string) => `#!/bin/bash
# faults/: a wrapper whose behaviour the fault suite sets in ${path.basename(modeFile)}.
mode=$(cat "${modeFile}" 2>/dev/null || echo ok)
${body}
`;

export class Suite {
  f: ResetFixture;
  proxy!: ChaosProxy;
  readonly workers: WorkerProcess[] = [];
  readonly deaths: { at: number; pid: number }[] = [];
  readonly crashFile: string;
  private readonly bin: string;
  private peakRssKb = new Map<number, number>();
  private rssTimer?: NodeJS.Timeout;
  /** A second target on the same database whose backups go to a tiny tmpfs (disk full). */
  smallDiskTarget?: string;
  smallDiskDir?: string;
  /**
   * A third target on the same database with storage.quarantine, for the restore scenarios
   * (faults/scenarios/restore.ts).
   */
  restoreTarget!: string;

  constructor(readonly opts: { scale?: string; pageSize?: number } = {}) {
    this.f = new ResetFixture({ pageSize: opts.pageSize ?? 5, scale: opts.scale });
    this.crashFile = path.join(this.f.dir, 'crash-at');
    this.bin = path.join(this.f.dir, 'bin');
  }

  async start(): Promise<void> {
    this.proxy = await startChaosProxy(process.env.RR_S3_ENDPOINT!);
    await this.f.setup();
    fs.mkdirSync(this.bin, { recursive: true });
    const real = path.join(process.env.RR_PG_BIN!, 'pg_dump');
    const service = path.join(REPO_ROOT, 'scripts', 'solid-queue-service');
    const m = (n: string) => path.join(this.bin, `${n}.mode`);
    this.script(
      'pg_dump',
      wrapper(
        m('pg_dump'),
        `[ "$1" = "--version" ] && exec ${real} "$@"
case "$mode" in
  fail) echo "pg_dump: error: connection to server failed (injected)" >&2; exit 1 ;;
  kill-once) echo ok > "${m('pg_dump')}"; ${real} "$@" | head -c 4096; kill -9 $$ ;;
  truncated-once) echo ok > "${m('pg_dump')}"; ${real} "$@" | head -c 4096; exit 0 ;;
  slow:*) sleep "\${mode#slow:}"; exec ${real} "$@" ;;
  *) exec ${real} "$@" ;;
esac`,
      ),
    );
    this.script(
      'stop',
      wrapper(
        m('stop'),
        `case "$mode" in
  fail) echo "systemctl: Failed to stop solid_queue.service: Access denied (injected)" >&2; exit 1 ;;
  hang) exec sleep 3600 ;;
  ignore-term) exit 0 ;;  # TERM sent, process ignored it: it keeps running and heartbeating
  *) exec ${service} stop ;;
esac`,
      ),
    );
    this.script(
      'start',
      wrapper(
        m('start'),
        `case "$mode" in
  fail) echo "systemctl: Job for solid_queue.service failed (injected)" >&2; exit 1 ;;
  fail-once) echo ok > "${m('start')}"; echo "systemctl: Job for solid_queue.service failed (injected)" >&2; exit 1 ;;
  no-heartbeat) setsid nohup sleep 3600 >/dev/null 2>&1 & echo $! >> "${path.join(this.bin, 'no-heartbeat.pid')}"; exit 0 ;;  # a process that never registers
  *) exec ${service} start ;;
esac`,
      ),
    );
    const realRestore = path.join(process.env.RR_PG_BIN!, 'pg_restore');
    this.script(
      'pg_restore',
      wrapper(
        m('pg_restore'),
        `if [ "$mode" = slow-once ] && [[ " $* " == *" --data-only "* ]]; then
  echo ok > "${m('pg_restore')}"
  # dd reads byte by byte: nothing past the first 8 KiB is swallowed before the pause.
  ${realRestore} "$@" | { dd bs=1 count=8192 2>/dev/null; sleep 4; cat; }
  exit \${PIPESTATUS[0]}
fi
exec ${realRestore} "$@"`,
      ),
    );
    // The restore runs psql from beside pg_restore (restore/load.ts).
    fs.symlinkSync(path.join(process.env.RR_PG_BIN!, 'psql'), path.join(this.bin, 'psql'));
    this.setModes({});
    this.f.opts.target = {
      backup: { pgDump: path.join(this.bin, 'pg_dump') },
      endpoint: this.proxy.endpoint,
      seedSqlFile: path.join(this.bin, 'seeds.sql'),
    };
    this.f.writeTargets();
    const file = JSON.parse(fs.readFileSync(this.f.targetsFile, 'utf8'));
    const t = file.targets[this.f.target];
    t.workers.stop = `${path.join(this.bin, 'stop')}`;
    t.workers.start = `${path.join(this.bin, 'start')}`;
    t.workers.stopTimeoutSeconds = 8;
    t.workers.startTimeoutSeconds = 10;
    t.workers.restartBudgetSeconds = 25;
    this.smallDiskDir = mountTinyDisk(path.join(this.f.dir, 'tiny'));
    if (this.smallDiskDir) {
      this.smallDiskTarget = `${this.f.target}-tiny`;
      file.targets[this.smallDiskTarget] = { ...t, backup: { ...t.backup, dir: this.smallDiskDir } };
    }
    this.restoreTarget = `${this.f.target}-restore`;
    file.targets[this.restoreTarget] = {
      ...t,
      backup: { ...t.backup, pgRestore: path.join(this.bin, 'pg_restore') },
      storage: { ...t.storage, quarantine: { bucket: this.f.bucket, prefix: `quarantine-${this.f.id}/`, days: 30 } },
    };
    fs.writeFileSync(this.f.targetsFile, JSON.stringify(file, null, 2));
    await this.ensureWorkers();
    this.rssTimer = setInterval(() => this.sampleRss(), 250);
  }

  private script(name: string, text: string): void {
    fs.writeFileSync(path.join(this.bin, name), text, { mode: 0o755 });
  }

  setModes(m: Modes): void {
    fs.writeFileSync(path.join(this.bin, 'pg_dump.mode'), m.pgDump ?? 'ok');
    fs.writeFileSync(path.join(this.bin, 'stop.mode'), m.stop ?? 'ok');
    fs.writeFileSync(path.join(this.bin, 'start.mode'), m.start ?? 'ok');
    fs.writeFileSync(path.join(this.bin, 'pg_restore.mode'), m.pgRestore ?? 'ok');
    fs.writeFileSync(
      path.join(this.bin, 'seeds.sql'),
      (m.seeds === 'slow' ? 'SELECT pg_sleep(3);\n' : '') + fs.readFileSync(SEEDS_SQL, 'utf8'),
    );
  }

  /** Replacements booting (ensureWorkers): counted as workers, so two callers never start one each. */
  private readonly booting = new Set<Promise<WorkerProcess>>();
  private closing = false;

  /**
   * Two workers poll at all times: replacements start in parallel, and the boots already under way count (and are
   * waited for).
   */
  async ensureWorkers(n = 2): Promise<void> {
    const missing = Math.max(0, n - this.alive().length - this.booting.size);
    for (let i = 0; i < missing; i++) {
      const boot = this.worker();
      this.booting.add(boot);
      void boot.finally(() => this.booting.delete(boot)).catch(() => undefined);
    }
    await Promise.all(this.booting);
  }

  async worker(env: NodeJS.ProcessEnv = {}): Promise<WorkerProcess> {
    const w = await this.f.startWorker({ RR_CRASH_FILE: this.crashFile, RR_S3_REQUEST_TIMEOUT_MS: '3000', ...env });
    this.workers.push(w);
    w.child.once('exit', () => {
      this.deaths.push({ at: Date.now(), pid: w.child.pid! });
      // The replacement boots at once (seconds of node and SDK start-up), while the standby carries the run on, not
      // when the next scenario asks for two workers; a failed boot is the next ensureWorkers' to retry.
      if (!this.closing) void this.ensureWorkers().catch(() => undefined);
    });
    return w;
  }

  alive(): WorkerProcess[] {
    return this.workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
  }

  private loaded = false;

  /** A fresh copy of the demo data (same seed: the same rows and keys each time); the first is setup's own. */
  async reload(): Promise<void> {
    this.f.service('stop');
    if (!this.loaded) {
      this.loaded = true;
      return;
    }
    this.f.report = (await load({
      databaseUrl: this.f.dbUrl,
      scale: this.opts.scale ?? 'small',
      seed: this.f.id,
      fresh: true,
      storage: {
        bucket: this.f.bucket,
        endpoint: this.f.endpoint,
        prefix: this.f.prefix,
        otherAppPrefix: this.f.otherAppPrefix,
      },
    }))!;
    // A run terminated midway (a failed scenario) leaves its claim on the database: the next run must not be refused
    // for it.
    await this.f.sql(
      `DO $$ BEGIN IF to_regclass('reset_runbook.reset_lock') IS NOT NULL THEN DELETE FROM reset_runbook.reset_lock; END IF; END $$`,
    );
    for (const file of fs.readdirSync(this.f.backupDir, { withFileTypes: true }).filter((d) => d.isFile()))
      fs.rmSync(path.join(this.f.backupDir, file.name));
  }

  sampleRss(): void {
    for (const w of this.alive()) {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${w.child.pid}/status`, 'utf8'));
        if (m) this.peakRssKb.set(w.child.pid!, Math.max(this.peakRssKb.get(w.child.pid!) ?? 0, Number(m[1])));
      } catch {
        /* exited between the check and the read */
      }
    }
  }

  /** The highest peak RSS among workers alive since `since` (ms), in MB. */
  peakRssMb(pids: Set<number>): number | undefined {
    const kb = Math.max(0, ...[...pids].map((p) => this.peakRssKb.get(p) ?? 0));
    return kb ? Math.round(kb / 1024) : undefined;
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.rssTimer) clearInterval(this.rssTimer);
    await Promise.allSettled(this.booting);
    await this.f.cleanup().catch(() => undefined);
    if (this.smallDiskDir) unmount(this.smallDiskDir);
    await this.proxy?.close();
  }
}

/**
 * A 64 MiB tmpfs as a backup folder (more than the small demo database, so the plan's free-space check passes) (root
 * can mount one); undefined where mounting is not allowed.
 */
function mountTinyDisk(dir: string): string | undefined {
  fs.mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m,mode=0700', 'tmpfs', dir], { stdio: 'pipe' });
    return dir;
  } catch {
    return undefined;
  }
}

function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    /* already gone */
  }
}
