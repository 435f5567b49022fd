/**
 * Step 3 — reset the database: what `rails db:seed:replant` does, made safe to retry.
 * Order matters: refuse a stale backup (before this run's first TRUNCATE only: see journal.ts), record
 * every blob key (the purge needs them and the TRUNCATE erases them), prove the tables are still those
 * the plan showed, lock them against writers (the web app still runs), record the blob rows written since
 * the keys were read and the counts, then one TRUNCATE per database in the transaction that holds the
 * locks, with SQL seeds in it, or a seed command after it commits.
 */
import * as fs from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from 'pg';
import { blobTableEmpty } from './lib/blobs';
import { crashPoint } from './lib/faults';
import { throwIfCancelled, withKeepalive } from './lib/keepalive';
import { materializedViewsOver, refreshMaterializedView } from './lib/matviews';
import { qualified, quoted, withClient, withClients } from './lib/postgres';
import { describeFailure } from './lib/shell';
import { countDecision, decideTables, planDigest, type TableDecision } from './lib/tables';
import { targetCommandEnv } from './lib/child-env';
import { resolveTarget, type ActivityDeps, type DatabaseHandle, type ResolvedTarget } from './lib/target';
import type { BackupRecord } from '../contract';
import { databaseChanged, readJournal, recordTransaction, updateJournal, writeJournal, type Journal } from './journal';
import { backupStoreFor, type BackupStore } from './lib/backup-store';
import { manifestDeltaName, manifestLocation, manifestName, readManifest, writeTableManifest } from './manifest';
import type { BlobHorizon, ManifestReader, Totals } from './lib/manifest-format';
import { runRebuild } from './rebuild';

export interface ResetArgs {
  target: string;
  runId: string;
  planDigest: string;
  backupCreatedAt: string;
  /** Blobs the plan counted: an empty blob table with no manifest then means the manifest is elsewhere. */
  expectedBlobs?: number;
  /** The backup that protects this TRUNCATE: kept in the journal, where a restore finds it whatever ends the run. */
  backup?: BackupRecord;
  /** What recordBlobKeys wrote before the workers stopped: the reset then records only the rows since. */
  keysBefore?: Totals;
}

export interface BlobKeysOutcome {
  path: string;
  blobs: number;
  bytes: number;
}
export interface ResetOutcome {
  manifest: { path: string; blobs: number; bytes: number };
  countsBefore: Record<string, number>;
  countsAfter: Record<string, number>;
  /** Rows in the truncated and in the kept tables just before this run's first TRUNCATE. */
  truncated: { tables: number; rows: number };
  kept: { tables: number; rows: number };
}

export function createDatabaseActivities(deps: ActivityDeps) {
  return {
    async resetDatabase(args: ResetArgs): Promise<ResetOutcome> {
      const t = resolveTarget(deps, args.target);
      return withKeepalive(async () => {
        const journal = await readJournal(t, args.runId);
        // Once this run's TRUNCATE committed, the backup that protects it is the one checked then:
        // a retry (a seed command fixed an hour later) must finish the job, never refuse for age.
        const changed = await databaseChanged(t, journal);
        if (!changed) refuseStaleBackup(t, args.backupCreatedAt);
        // The figures of the first TRUNCATE, recorded before it: a retry counts emptied tables.
        const count = !(changed && journal.countsBefore);
        const countNow = () =>
          withClients(t.databases, async (cs) =>
            countAll(t, await Promise.all(t.databases.map((db, i) => decideTables(cs[i], db))), cs),
          );
        const strategy = t.config.strategy ?? { kind: 'replant' as const };
        // Set once read: a failure after that may have changed the database, one before cannot have.
        let readings: Readings | undefined;
        try {
          if (strategy.kind === 'rebuild') {
            readings = await readUnlocked(t, args, changed, count, journal);
            await runRebuild(t, args.runId, strategy, changed);
          } else {
            // One session per database, in the transaction its TRUNCATE commits, from before the readings:
            // once it holds its tables, what is read is what is truncated (see lockAndRead).
            await withClients(
              t.databases,
              async (sessions) => {
                readings = await lockAndRead(t, args, changed, count, journal, sessions);
                // Extra databases first: the primary holds the seeds, and its commit is the one that "counts".
                for (const d of [...readings.decisions].reverse())
                  await truncate(t, d, args.runId, sessions[t.databases.findIndex((x) => x.name === d.database)]);
              },
              'reset-runbook:truncate',
            );
            throwIfCancelled();
            const seeds = t.config.seeds;
            if (seeds && 'command' in seeds) {
              await runTargetCommand(t, 'Seed command', seeds.command, seeds.cwd, seeds.env, seeds.timeoutSeconds);
            }
            // After the seeds, so the views show the seeded rows, not the old ones nor none.
            for (const d of readings!.decisions) await refreshViews(t, d);
          }
        } catch (err) {
          // What a failed seed left behind, so that a restore can tell it from rows written later.
          if (readings && (await databaseChanged(t, await readJournal(t, args.runId)).catch(() => false))) {
            await countNow()
              .then((c) => updateJournal(t, args.runId, { countsAfter: c, seedsFinished: false }))
              .catch(() => undefined);
          }
          throw err;
        }
        const { manifest, decisions, countsBefore } = readings!;
        const countsAfter = await countNow();
        await updateJournal(t, args.runId, { countsAfter, seedsFinished: true });
        crashPoint('reset.done');
        const sum = (tables: TableDecision['truncate'], database: string) =>
          tables.reduce((a, tb) => a + (countsBefore![`${database}/${qualified(tb)}`] ?? 0), 0);
        return {
          manifest: { path: manifest.path, blobs: manifest.blobs, bytes: manifest.bytes },
          countsBefore,
          countsAfter,
          truncated: {
            tables: decisions.reduce((a, d) => a + d.truncate.length, 0),
            rows: decisions.reduce((a, d) => a + sum(d.truncate, d.database), 0),
          },
          kept: {
            tables: decisions.reduce((a, d) => a + d.keep.length, 0),
            rows: decisions.reduce((a, d) => a + sum(d.keep, d.database), 0),
          },
        };
      });
    },

    /**
     * Before the workers stop (workers.startBeforePurge): every blob key as it is now, into the manifest
     * (version 3), so that the reset, while they are stopped, records only the rows written since (its
     * delta) and their downtime does not grow with the number of files. Written once: a retry, or a
     * retried step later, keeps it (the delta is taken against its horizon, however old).
     */
    async recordBlobKeys(args: { target: string; runId: string }): Promise<BlobKeysOutcome> {
      const t = resolveTarget(deps, args.target);
      return withKeepalive(async () => {
        const store = backupStoreFor(t.config.backup, t.s3);
        const name = manifestName(t.name, args.runId);
        const existing = await readManifest(store, name);
        const m = existing
          ? await existing.check()
          : await withClient(t.primary, (c) => writeFirstReading(t, store, args.runId, c));
        return { path: manifestLocation(store, name), blobs: m.rows, bytes: m.bytes };
      });
    },

    /** For the workflow, before it decides to refresh a stale backup: has this run already changed the database? */
    async resetState(args: { target: string; runId: string }): Promise<{ databaseChanged: boolean }> {
      const t = resolveTarget(deps, args.target);
      return withKeepalive(async () => ({
        databaseChanged: await databaseChanged(t, await readJournal(t, args.runId)),
      }));
    },
  };
}

/**
 * Both results, once both have ended: a failure of either is thrown (the first's if both fail) only after the
 * other has settled, so no query is left running on a connection while the step reports its failure.
 */
async function bothSettled<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}

function refuseStaleBackup(t: ResolvedTarget, createdAt: string): void {
  const maxMinutes = t.config.backup.maxAgeMinutes;
  const ageMinutes = (t.now() - Date.parse(createdAt)) / 60_000;
  if (!(ageMinutes <= maxMinutes)) {
    // Seconds under ten minutes: "0 minutes old, more than 0.05" would read as a contradiction.
    const age = ageMinutes < 10 ? `${Math.round(ageMinutes * 60)} seconds` : `${Math.round(ageMinutes)} minutes`;
    throw ApplicationFailure.nonRetryable(
      `The backup of target "${t.name}" is ${age} old, more than backup.maxAgeMinutes (${maxMinutes}); nothing was truncated. Retry: the run takes a fresh backup before it stops the workers again.`,
      'BackupTooOld',
    );
  }
}

const manifestHeader = (t: ResolvedTarget, runId: string) => ({
  target: t.name,
  runId,
  createdAt: new Date(t.now()).toISOString(),
});

/** Every blob key as it is now, with the horizon of that reading: a version-3 manifest that names its delta. */
function writeFirstReading(t: ResolvedTarget, store: BackupStore, runId: string, c: Client) {
  return writeTableManifest(store, manifestName(t.name, runId), c, manifestHeader(t, runId), {
    delta: manifestDeltaName(t.name, runId),
  });
}

/**
 * What the keys' first reading left: a manifest kept whole, or one to complete with its delta under the lock,
 * against its horizon. Its figures come with it, or (a worker restarted since recordBlobKeys wrote it) from
 * the merged reading once the delta is written.
 */
type KeysRead =
  | { where: string; kept: BlobKeysOutcome }
  | { where: string; horizon: BlobHorizon | undefined; keysBefore: Totals }
  | { where: string; horizon: BlobHorizon | undefined; keysBefore: undefined; merged: ManifestReader };

/**
 * The purge manifest's first reading, unlocked: every key as it is now, with the horizon of that reading
 * (a million keys take seconds, and the app's writes must not wait for them). Written by recordBlobKeys
 * before the workers stopped, or here. Once the blob table is held against writers, recordDelta adds
 * the rows since. A manifest without a delta (an older worker's, this run's) is kept as it is.
 */
async function readKeys(t: ResolvedTarget, args: ResetArgs): Promise<KeysRead> {
  const store = backupStoreFor(t.config.backup, t.s3);
  const name = manifestName(t.name, args.runId);
  // Read first: after this run's TRUNCATE the blob table is empty, and only the first copy is true.
  const existing = await readManifest(store, name);
  const where = manifestLocation(store, name);
  if (existing?.version === 3)
    return args.keysBefore
      ? { where, horizon: existing.horizon, keysBefore: args.keysBefore }
      : { where, horizon: existing.horizon, keysBefore: undefined, merged: existing };
  if (existing) {
    const m = await existing.check();
    return { where, kept: { path: where, blobs: m.rows, bytes: m.bytes } };
  }
  const first = await withClient(t.primary, async (c) => {
    if ((await blobTableEmpty(c)) && (args.expectedBlobs ?? 0) > 0) {
      // The plan saw blobs and the table is empty with no manifest: this run's TRUNCATE ran on a worker
      // whose local backup.dir this one cannot read. An empty manifest here would purge nothing, silently.
      throw ApplicationFailure.nonRetryable(
        `No purge manifest for this run in ${where}, and active_storage_blobs is empty though the plan counted ${args.expectedBlobs} blobs (target "${t.name}"): the TRUNCATE most likely ran on another worker host, whose backup.dir holds the manifest. Retry on a worker that can read that folder (or copy the file here), or use an S3 backup destination so every worker shares it. Recording an empty manifest would leave those blobs' files in the bucket.`,
        'ManifestElsewhere',
      );
    }
    // Straight from PostgreSQL's COPY into the store: no list of every key, no object per row.
    return writeFirstReading(t, store, args.runId, c);
  });
  return { where, horizon: first.horizon, keysBefore: { rows: first.rows, bytes: first.bytes } };
}

/** The manifest whole: the first reading, and (the caller holding the blob table, where it can) its delta. */
async function completeKeys(t: ResolvedTarget, args: ResetArgs, changed: boolean, k: KeysRead) {
  if ('kept' in k) return k.kept;
  return { path: k.where, ...(await recordDelta(t, args.runId, changed, k)) };
}

/**
 * The delta of a manifest's first reading: the rows it may have missed, taken again on every attempt
 * until this run's TRUNCATE commits (the workers ran in between, after a failed attempt), then kept.
 * The figures are the two added up: a row updated in between counts twice here, once in the purge
 * (which merges them).
 */
async function recordDelta(
  t: ResolvedTarget,
  runId: string,
  changed: boolean,
  k: Exclude<KeysRead, { kept: BlobKeysOutcome }>,
): Promise<{ blobs: number; bytes: number }> {
  const store = backupStoreFor(t.config.backup, t.s3);
  const name = manifestDeltaName(t.name, runId);
  let d = changed ? await (await readManifest(store, name))?.check() : undefined;
  if (!d) {
    const horizon = k.horizon;
    if (!horizon) throw new Error(`the purge manifest of run ${runId} names no horizon for its delta`);
    d = await withClient(t.primary, (c) =>
      writeTableManifest(store, name, c, manifestHeader(t, runId), { since: horizon }),
    );
  }
  if (k.keysBefore) return { blobs: k.keysBefore.rows + d.rows, bytes: k.keysBefore.bytes + d.bytes };
  const merged = await k.merged.check();
  return { blobs: merged.rows, bytes: merged.bytes };
}

interface Readings {
  manifest: BlobKeysOutcome;
  decisions: TableDecision[];
  countsBefore: Record<string, number>;
}

/**
 * The readings before a replant's TRUNCATE, on the sessions that will run it, each database's truncated
 * tables locked in SHARE mode (writers wait, readers go on) before what is recorded under them is read.
 * The app's web processes still run while the workers are stopped: without the lock a blob row committed
 * between the keys' reading and the TRUNCATE was erased with its key never recorded (its file stayed in the
 * bucket), and the counts a restore checks against missed it. Held, such a write waits, and lands after
 * the reset, in the seeded tables; an insert still open when the lock is asked for is waited for
 * (lock_timeout), and recorded. Every key is read first, unlocked (readKeys), so no write waits for them.
 * The blob table is locked as soon as they are written, before the plan's check has to be done, so that
 * the delta's scan (the longest reading at a million blobs) does not wait for it; the other tables once
 * both are done, and then they are counted.
 */
async function lockAndRead(
  t: ResolvedTarget,
  args: ResetArgs,
  changed: boolean,
  count: boolean,
  journal: Journal,
  sessions: Client[],
): Promise<Readings> {
  const lockMs = Math.round(t.config.timing.lockTimeoutSeconds * 1000);
  const refused = (i: number) => (err: Error & { code?: string }) => {
    throw explainTruncateError(t, t.databases[i], err, false);
  };
  const begun = Promise.all(
    sessions.map((c, i) => c.query(`BEGIN; SET LOCAL lock_timeout = '${lockMs}ms'`).catch(refused(i))),
  );
  // The blob table on the primary's session (sessions[0]).
  const keys = readKeys(t, args);
  const blobsLocked = Promise.all([keys, begun]).then(() => sessions[0].query(LOCK_BLOB_TABLE).catch(refused(0)));
  const checked = begun.then(() => checkPlanAndCount(t, args.planDigest, changed, false, sessions));
  const locked = Promise.all([checked, blobsLocked]).then(async ([{ decisions }]) => {
    for (const d of decisions) {
      const i = t.databases.findIndex((x) => x.name === d.database);
      await sessions[i].query(`LOCK TABLE ${d.truncate.map(quoted).join(', ')} IN SHARE MODE`).catch(refused(i));
    }
    return decisions;
  });
  // The delta on a connection of its own, beside the counts on the locked sessions: the workers-stopped
  // window holds the longer of the two, not both (a million blob keys, or 11 M rows).
  const [manifest, [decisions, counted]] = await bothSettled(
    blobsLocked.then(async () => completeKeys(t, args, changed, await keys)),
    locked.then(async (ds) => [ds, count ? await countAll(t, ds, sessions) : undefined] as const),
  );
  return { manifest, decisions, countsBefore: await keepCounts(t, journal, args, counted) };
}

/** The table the manifest reads (lib/blobs.ts), where the app has one: kept or not, its keys are read. */
const LOCK_BLOB_TABLE = `DO $$ BEGIN IF to_regclass('active_storage_blobs') IS NOT NULL THEN LOCK TABLE active_storage_blobs IN SHARE MODE; END IF; END $$`;

/** The same readings for a rebuild, whose command needs the databases free of this step's sessions. */
async function readUnlocked(
  t: ResolvedTarget,
  args: ResetArgs,
  changed: boolean,
  count: boolean,
  journal: Journal,
): Promise<Readings> {
  const [manifest, { decisions, counted }] = await bothSettled(
    readKeys(t, args).then((k) => completeKeys(t, args, changed, k)),
    checkPlanAndCount(t, args.planDigest, changed, count),
  );
  return { manifest, decisions, countsBefore: await keepCounts(t, journal, args, counted) };
}

/** The first TRUNCATE's figures go to the journal with the backup that protects it; a retry reports them. */
async function keepCounts(
  t: ResolvedTarget,
  journal: Journal,
  args: ResetArgs,
  counted: Record<string, number> | undefined,
): Promise<Record<string, number>> {
  if (!counted) return journal.countsBefore!;
  await writeJournal(t, { ...journal, countsBefore: counted, backup: args.backup ?? journal.backup });
  throwIfCancelled();
  return counted;
}

/**
 * Proves the tables are still those the approved plan showed, then (`count`) counts their rows, on the
 * same session per database: the plan's check must pass before anything is counted.
 */
async function checkPlanAndCount(
  t: ResolvedTarget,
  expected: string,
  changed: boolean,
  count: boolean,
  sessions?: Client[],
): Promise<{ decisions: TableDecision[]; counted?: Record<string, number> }> {
  const onSessions = <T>(fn: (cs: Client[]) => Promise<T>) => (sessions ? fn(sessions) : withClients(t.databases, fn));
  return onSessions(async (cs) => {
    const decisions: TableDecision[] = [];
    let databaseName = '';
    for (const [i, db] of t.databases.entries()) {
      if (db.name === 'primary') databaseName = (await cs[i].query(`SELECT current_database() AS n`)).rows[0].n;
      decisions.push(await decideTables(cs[i], db));
    }
    const errors = decisions.flatMap((d) => d.errors);
    const now = planDigest({
      target: t.name,
      databaseName,
      strategy: t.config.strategy.kind,
      restartIdentity: t.config.restartIdentity,
      decisions,
    });
    if (errors.length || now !== expected) {
      throw ApplicationFailure.nonRetryable(
        `The tables of target "${t.name}" are no longer those the approved plan showed${errors.length ? ` (${errors.join('; ')})` : ' (a table was added, removed or renamed, or the configuration changed)'}; ${
          changed
            ? "this run's TRUNCATE had already committed. Restore the configuration the plan was made with and retry, so that the seeds and the purge finish with this run's manifest."
            : 'nothing was truncated. Abort and start a new reset to see the new plan.'
        }`,
        'PlanChanged',
      );
    }
    return { decisions, ...(count ? { counted: await countAll(t, decisions, cs) } : {}) };
  });
}

/** `clients`: one open session per database, in t.databases' order (as withClients gives them). */
async function countAll(
  t: ResolvedTarget,
  decisions: TableDecision[],
  clients: Client[],
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const d of decisions) {
    Object.assign(out, await countDecision(clients[t.databases.findIndex((x) => x.name === d.database)], d));
  }
  return out;
}

/** On `c`, the session lockAndRead opened its transaction and took the locks on: the TRUNCATE, the SQL seeds, COMMIT. */
async function truncate(t: ResolvedTarget, d: TableDecision, runId: string, c: Client): Promise<void> {
  const db = t.databases.find((x) => x.name === d.database)!;
  const seeds = t.config.seeds;
  const sqlSeed =
    seeds && 'sqlFile' in seeds && seeds.database === db.name ? fs.readFileSync(seeds.sqlFile, 'utf8') : undefined;
  try {
    // One statement for all tables: foreign keys between them need no CASCADE, and the plan has
    // proved no kept table references them. RESTART IDENTITY only on request (see config docs).
    const identity = t.config.restartIdentity ? 'RESTART IDENTITY' : 'CONTINUE IDENTITY';
    await c.query(`TRUNCATE TABLE ${d.truncate.map(quoted).join(', ')} ${identity}`);
    if (sqlSeed) await c.query(sqlSeed);
    await recordTransaction(t, runId, db.name, c);
    crashPoint('reset.beforeCommit');
    // An abort that arrived during the seeds still rolls everything back.
    throwIfCancelled();
    await c.query('COMMIT');
    crashPoint('reset.afterCommit');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw explainTruncateError(t, db, err as Error & { code?: string }, Boolean(sqlSeed));
  }
}

function explainTruncateError(
  t: ResolvedTarget,
  db: DatabaseHandle,
  err: Error & { code?: string },
  withSeeds: boolean,
): Error {
  const where = `target "${t.name}", database "${db.name}"`;
  if (err.code === '55P03') {
    return new Error(
      `TRUNCATE could not lock its tables within ${t.config.timing.lockTimeoutSeconds}s (${where}): another session holds a lock; find it with SELECT pid, query FROM pg_stat_activity WHERE pid IN (SELECT pid FROM pg_locks WHERE NOT granted OR mode LIKE '%Exclusive%'). Nothing was changed (rolled back).`,
    );
  }
  return new Error(
    `${withSeeds ? 'TRUNCATE + SQL seeds' : 'TRUNCATE'} failed (${where}): ${err.message}. The transaction was rolled back; nothing was changed.`,
  );
}

async function refreshViews(t: ResolvedTarget, d: TableDecision): Promise<void> {
  const db = t.databases.find((x) => x.name === d.database)!;
  if (!db.refreshMaterializedViews) return;
  const lockTimeout = t.config.timing.lockTimeoutSeconds;
  await withClient(
    db,
    async (c: Client) => {
      for (const m of await materializedViewsOver(c, d.truncate)) {
        try {
          // Each in its own statement: REFRESH locks the view, and a reader holding it should fail fast, not hang.
          await c.query(`SET lock_timeout = '${Math.round(lockTimeout * 1000)}ms'`);
          await refreshMaterializedView(c, m);
        } catch (err) {
          throw new Error(
            `REFRESH MATERIALIZED VIEW ${qualified(m)} failed (target "${t.name}", database "${db.name}"): ${(err as Error).message}. The tables are already truncated and seeded; fix the cause, then retry (truncate, seeds and refresh run again), or set database.refreshMaterializedViews to false.`,
            { cause: err },
          );
        }
      }
    },
    'reset-runbook:refresh',
  );
}

async function runTargetCommand(
  t: ResolvedTarget,
  what: string,
  cmd: string[],
  cwd: string | undefined,
  env: Record<string, string> | undefined,
  timeoutSeconds: number,
) {
  const r = await t.run(cmd, {
    cwd,
    env: targetCommandEnv(t.env, env),
    timeoutMs: timeoutSeconds * 1000,
    redact: t.databases.map((d) => d.url),
  });
  if (r.code !== 0)
    throw new Error(
      `${describeFailure(`${what} ${cmd.join(' ')}`, r)} (target "${t.name}"). The tables are already truncated; fix the cause, then retry (truncate + seeds run again).`,
    );
}
