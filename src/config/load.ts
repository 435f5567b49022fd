/**
 * Loads and validates the targets file when the worker starts. Every error names the target, the
 * field and what is expected, and all errors are reported at once so an operator fixes them in one go.
 * This runs on the worker side only: workflows never see the file, only a target's name.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NOTIFY_EVENTS } from '../workflows/definitions';
import type { TargetConfig, TargetsFile } from './types';

export const TARGETS_ENV = 'RESET_RUNBOOK_TARGETS';
export const ALWAYS_KEPT = ['schema_migrations', 'ar_internal_metadata'];

export class ConfigError extends Error {
  constructor(public readonly problems: string[], source: string) {
    super(`${source}: ${problems.length} problem(s) in the targets file:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** A loaded target: the file's settings with relative paths resolved against the file's folder. */
export interface LoadedTargets {
  file: string;
  targets: Record<string, TargetConfig>;
}

export function loadTargetsFromEnv(env: NodeJS.ProcessEnv = process.env): LoadedTargets {
  const file = env[TARGETS_ENV];
  if (!file) {
    throw new ConfigError([`${TARGETS_ENV} is not set: point it at your targets JSON file (see deploy/targets.example.json)`], 'worker');
  }
  return loadTargetsFile(file, env);
}

export function loadTargetsFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadedTargets {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read ${file}: ${(err as Error).message}`], file);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new ConfigError([`not valid JSON: ${(err as Error).message}`], file);
  }
  const problems = validateTargetsFile(parsed, env);
  if (problems.length) throw new ConfigError(problems, file);
  const base = path.dirname(path.resolve(file));
  const targets = (parsed as TargetsFile).targets;
  for (const t of Object.values(targets)) resolvePaths(t, base);
  return { file: path.resolve(file), targets };
}

function resolvePaths(t: TargetConfig, base: string): void {
  const abs = (p: string) => (path.isAbsolute(p) ? p : path.resolve(base, p));
  if (t.backup.dir) t.backup.dir = abs(t.backup.dir);
  if (t.seeds && 'sqlFile' in t.seeds) t.seeds.sqlFile = abs(t.seeds.sqlFile);
  if (t.seeds && 'command' in t.seeds && t.seeds.cwd) t.seeds.cwd = abs(t.seeds.cwd);
  if (t.strategy?.kind === 'rebuild' && t.strategy.cwd) t.strategy.cwd = abs(t.strategy.cwd);
  if (t.workers?.cwd) t.workers.cwd = abs(t.workers.cwd);
  for (const svc of Object.values(t.storage?.services ?? {})) if (svc.kind === 'disk') svc.root = abs(svc.root);
}

// ---- validation: small, explicit checks; no schema library, so the messages stay ours ----

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const TARGET_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DURATION = /^\d+(ms|s|m|h|d)$/;

export function validateTargetsFile(parsed: unknown, env: NodeJS.ProcessEnv): string[] {
  const p: string[] = [];
  if (!isObj(parsed) || !isObj(parsed.targets)) return ['top level must be an object {"targets": {"<name>": {...}}}'];
  const names = Object.keys(parsed.targets);
  if (names.length === 0) p.push('"targets" is empty: define at least one target');
  for (const name of names) {
    const at = `targets.${name}`;
    if (!TARGET_NAME.test(name)) p.push(`${at}: a target name is lower-case letters, digits, "-" or "_" (it becomes part of a workflow id and a file name)`);
    const t = parsed.targets[name];
    if (!isObj(t)) {
      p.push(`${at}: must be an object`);
      continue;
    }
    p.push(...validateTarget(t, at, env));
  }
  return p;
}

function validateTarget(t: Obj, at: string, env: NodeJS.ProcessEnv): string[] {
  const p: string[] = [];
  const str = (v: unknown, field: string, required = true) => {
    if (v === undefined && !required) return;
    if (typeof v !== 'string' || v.trim() === '') p.push(`${at}.${field}: expected a non-empty string`);
  };
  const num = (v: unknown, field: string, min = 0) => {
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) p.push(`${at}.${field}: expected a number >= ${min}`);
  };
  const strList = (v: unknown, field: string) => {
    if (v === undefined) return;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === '')) p.push(`${at}.${field}: expected a list of non-empty strings`);
  };
  const urlEnv = (v: unknown, field: string) => {
    if (typeof v !== 'string' || !ENV_NAME.test(v)) {
      p.push(`${at}.${field}: expected the NAME of an environment variable holding the database URL (never the URL itself)`);
    } else if (!env[v]) {
      p.push(`${at}.${field}: environment variable ${v} is not set on this worker`);
    }
  };
  const command = (v: unknown, field: string) => {
    if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'string')) p.push(`${at}.${field}: expected a command as a list of strings, e.g. ["bin/rails", "db:seed"]`);
  };
  const bool = (v: unknown, field: string) => {
    if (v !== undefined && typeof v !== 'boolean') p.push(`${at}.${field}: expected true or false`);
  };
  const envMap = (v: unknown, field: string) => {
    if (v === undefined) return;
    if (!isObj(v) || Object.values(v).some((x) => typeof x !== 'string')) p.push(`${at}.${field}: expected an object of string values`);
  };

  // database
  const db = t.database;
  const dbNames = new Set(['primary']);
  if (!isObj(db)) p.push(`${at}.database: required, e.g. {"urlEnv": "DATABASE_URL"}`);
  else {
    urlEnv(db.urlEnv, 'database.urlEnv');
    strList(db.schemas, 'database.schemas');
    strList(db.keepTables, 'database.keepTables');
    bool(db.refreshMaterializedViews, 'database.refreshMaterializedViews');
  }
  if (t.extraDatabases !== undefined) {
    if (!Array.isArray(t.extraDatabases)) p.push(`${at}.extraDatabases: expected a list`);
    else
      t.extraDatabases.forEach((x: unknown, i: number) => {
        const f = `extraDatabases[${i}]`;
        if (!isObj(x)) return p.push(`${at}.${f}: expected an object`);
        str(x.name, `${f}.name`);
        if (typeof x.name === 'string') {
          if (dbNames.has(x.name)) p.push(`${at}.${f}.name: "${x.name}" is used twice (or is the reserved "primary")`);
          dbNames.add(x.name);
        }
        urlEnv(x.urlEnv, `${f}.urlEnv`);
        strList(x.schemas, `${f}.schemas`);
        strList(x.keepTables, `${f}.keepTables`);
        bool(x.refreshMaterializedViews, `${f}.refreshMaterializedViews`);
      });
  }
  if (t.secretEnv !== undefined && (!Array.isArray(t.secretEnv) || t.secretEnv.some((x) => typeof x !== 'string' || !ENV_NAME.test(x)))) {
    p.push(`${at}.secretEnv: expected a list of environment variable NAMES, e.g. ["STRIPE_KEY"] (never the values)`);
  }
  if (t.restartIdentity !== undefined && typeof t.restartIdentity !== 'boolean') p.push(`${at}.restartIdentity: expected true or false`);

  // seeds
  if (t.seeds !== undefined) {
    const s = t.seeds;
    if (!isObj(s) || ('sqlFile' in s) === ('command' in s)) p.push(`${at}.seeds: expected either {"sqlFile": "..."} or {"command": [...]}`);
    else if ('sqlFile' in s) {
      str(s.sqlFile, 'seeds.sqlFile');
      if (s.database !== undefined && !dbNames.has(String(s.database))) p.push(`${at}.seeds.database: "${s.database}" is not one of ${[...dbNames].join(', ')}`);
    } else {
      command(s.command, 'seeds.command');
      str(s.cwd, 'seeds.cwd', false);
      envMap(s.env, 'seeds.env');
      num(s.timeoutSeconds, 'seeds.timeoutSeconds', 1);
    }
  }

  // strategy
  if (t.strategy !== undefined) {
    const s = t.strategy;
    if (!isObj(s) || (s.kind !== 'replant' && s.kind !== 'rebuild')) p.push(`${at}.strategy.kind: expected "replant" or "rebuild"`);
    else if (s.kind === 'rebuild') {
      command(s.command, 'strategy.command');
      envMap(s.env, 'strategy.env');
      num(s.timeoutSeconds, 'strategy.timeoutSeconds', 1);
    }
  }

  // workers
  if (t.workers !== undefined) {
    const w = t.workers;
    if (!isObj(w)) p.push(`${at}.workers: expected an object with "stop" and "start" commands`);
    else {
      str(w.stop, 'workers.stop');
      str(w.start, 'workers.start');
      str(w.status, 'workers.status', false);
      envMap(w.env, 'workers.env');
      if (w.database !== undefined && !dbNames.has(String(w.database))) p.push(`${at}.workers.database: "${w.database}" is not one of ${[...dbNames].join(', ')}`);
      num(w.heartbeatThresholdSeconds, 'workers.heartbeatThresholdSeconds', 1);
      num(w.stopTimeoutSeconds, 'workers.stopTimeoutSeconds', 1);
      num(w.startTimeoutSeconds, 'workers.startTimeoutSeconds', 1);
      num(w.restartBudgetSeconds, 'workers.restartBudgetSeconds', 1);
      if (w.whenNoneAliveBefore !== undefined && w.whenNoneAliveBefore !== 'start' && w.whenNoneAliveBefore !== 'leave') {
        p.push(`${at}.workers.whenNoneAliveBefore: expected "start" or "leave"`);
      }
    }
  }

  // storage
  if (t.storage !== undefined) {
    const s = t.storage;
    const int = (v: unknown, field: string, min: number, max: number) => {
      if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)) p.push(`${at}.storage.${field}: expected a whole number from ${min} to ${max}`);
    };
    if (isObj(s)) {
      int(s.pageSize, 'pageSize', 1, 1000);
      int(s.concurrency, 'concurrency', 1, 32);
      int(s.sampleSize, 'sampleSize', 0, 1000);
    }
    if (!isObj(s) || !isObj(s.services) || Object.keys(s.services).length === 0) p.push(`${at}.storage.services: expected {"<ActiveStorage service name>": {"bucket": "..."}} or {"kind": "disk", "root": "..."}`);
    else
      for (const [svc, c] of Object.entries(s.services)) {
        const f = `storage.services.${svc}`;
        if (!isObj(c)) {
          p.push(`${at}.${f}: expected an object`);
          continue;
        }
        bool(c.purge, `${f}.purge`);
        if (c.kind !== undefined && c.kind !== 's3' && c.kind !== 'disk') {
          p.push(`${at}.${f}.kind: expected "s3" (the default) or "disk"`);
          continue;
        }
        if (c.kind === 'disk') {
          str(c.root, `${f}.root`);
          for (const k of ['bucket', 'prefix', 'region', 'endpoint', 'forcePathStyle']) if (c[k] !== undefined) p.push(`${at}.${f}.${k}: not for a "disk" service (it has only "root" and "purge")`);
          continue;
        }
        str(c.bucket, `${f}.bucket`);
        str(c.region, `${f}.region`, false);
        if (c.prefix !== undefined && typeof c.prefix !== 'string') p.push(`${at}.${f}.prefix: expected a string`);
        if (c.endpoint !== undefined && (typeof c.endpoint !== 'string' || !/^https?:\/\//.test(c.endpoint))) p.push(`${at}.${f}.endpoint: expected an http(s) URL`);
        if (typeof c.endpoint === 'string' && /\/\/[^/]*@/.test(c.endpoint)) p.push(`${at}.${f}.endpoint: must not carry credentials; use the AWS credential chain`);
        if (c.forcePathStyle !== undefined && typeof c.forcePathStyle !== 'boolean') p.push(`${at}.${f}.forcePathStyle: expected true or false`);
      }
    if (isObj(s) && s.quarantine !== undefined) {
      const q = s.quarantine;
      if (!isObj(q)) p.push(`${at}.storage.quarantine: expected {"bucket": "...", "prefix": "reset-quarantine/", "days": 30}`);
      else {
        str(q.bucket, 'storage.quarantine.bucket');
        if (q.prefix !== undefined && typeof q.prefix !== 'string') p.push(`${at}.storage.quarantine.prefix: expected a string`);
        num(q.days, 'storage.quarantine.days', 1);
      }
    }
  }

  // backup
  const b = t.backup;
  if (!isObj(b)) p.push(`${at}.backup: required, e.g. {"dir": "/var/backups/reset-runbook"}`);
  else {
    const d = b.destination;
    str(b.dir, 'backup.dir', !(isObj(d) && d.kind === 's3'));
    if (d !== undefined) {
      if (!isObj(d) || d.kind !== 's3') p.push(`${at}.backup.destination: expected {"kind": "s3", "bucket": "...", "prefix": "..."}`);
      else {
        str(d.bucket, 'backup.destination.bucket');
        str(d.region, 'backup.destination.region', false);
        if (d.prefix !== undefined && typeof d.prefix !== 'string') p.push(`${at}.backup.destination.prefix: expected a string`);
        if (d.endpoint !== undefined && (typeof d.endpoint !== 'string' || !/^https?:\/\//.test(d.endpoint))) p.push(`${at}.backup.destination.endpoint: expected an http(s) URL`);
        if (typeof d.endpoint === 'string' && /\/\/[^/]*@/.test(d.endpoint)) p.push(`${at}.backup.destination.endpoint: must not carry credentials; use the AWS credential chain`);
        if (d.forcePathStyle !== undefined && typeof d.forcePathStyle !== 'boolean') p.push(`${at}.backup.destination.forcePathStyle: expected true or false`);
        if (d.serverSideEncryption !== undefined && d.serverSideEncryption !== 'AES256' && d.serverSideEncryption !== 'aws:kms') p.push(`${at}.backup.destination.serverSideEncryption: expected "AES256" or "aws:kms"`);
        str(d.kmsKeyId, 'backup.destination.kmsKeyId', false);
        if (d.kmsKeyId !== undefined && d.serverSideEncryption !== 'aws:kms') p.push(`${at}.backup.destination.kmsKeyId: only with serverSideEncryption "aws:kms"`);
      }
    }
    num(b.keep, 'backup.keep', 1);
    num(b.maxAgeMinutes, 'backup.maxAgeMinutes', 0.01);
    str(b.pgDump, 'backup.pgDump', false);
    str(b.pgRestore, 'backup.pgRestore', false);
  }

  // verify
  if (t.verify !== undefined) {
    const v = t.verify;
    if (!isObj(v) || !Array.isArray(v.expect)) p.push(`${at}.verify.expect: expected a list of {"label", "table", "count" | "min"/"max"}`);
    else
      v.expect.forEach((e: unknown, i: number) => {
        const f = `verify.expect[${i}]`;
        if (!isObj(e)) return p.push(`${at}.${f}: expected an object`);
        str(e.label, `${f}.label`);
        str(e.table, `${f}.table`);
        if (e.database !== undefined && !dbNames.has(String(e.database))) p.push(`${at}.${f}.database: "${e.database}" is not one of ${[...dbNames].join(', ')}`);
        if (e.count === undefined && e.min === undefined && e.max === undefined) p.push(`${at}.${f}: give "count", or "min" and/or "max"`);
        num(e.count, `${f}.count`);
        num(e.min, `${f}.min`);
        num(e.max, `${f}.max`);
      });
  }

  // approval and timing
  if (t.approval !== undefined) {
    const a = t.approval;
    if (!isObj(a)) p.push(`${at}.approval: expected an object`);
    else {
      if (a.required !== undefined && typeof a.required !== 'boolean') p.push(`${at}.approval.required: expected true or false`);
      if (a.timeout !== undefined && (typeof a.timeout !== 'string' || !DURATION.test(a.timeout))) p.push(`${at}.approval.timeout: expected a duration like "30m" or "24h"`);
    }
  }
  if (t.plan !== undefined) {
    const x = t.plan;
    if (!isObj(x)) p.push(`${at}.plan: expected an object {"exactCounts": false, "estimateAboveRows": 100000}`);
    else {
      bool(x.exactCounts, 'plan.exactCounts');
      if (x.estimateAboveRows !== undefined && (typeof x.estimateAboveRows !== 'number' || !Number.isInteger(x.estimateAboveRows) || x.estimateAboveRows < 0)) {
        p.push(`${at}.plan.estimateAboveRows: expected a whole number >= 0`);
      }
    }
  }
  if (t.timing !== undefined) {
    const x = t.timing;
    if (!isObj(x)) p.push(`${at}.timing: expected an object`);
    else {
      num(x.heartbeatTimeoutSeconds, 'timing.heartbeatTimeoutSeconds', 1);
      num(x.maximumAttempts, 'timing.maximumAttempts', 1);
      num(x.lockTimeoutSeconds, 'timing.lockTimeoutSeconds', 1);
    }
  }

  // notify: webhook URLs are secrets (Slack's carry a token in the path), so only their env var names
  if (t.notify !== undefined) {
    const n = t.notify;
    if (!isObj(n) || !Array.isArray(n.webhooks)) p.push(`${at}.notify: expected {"webhooks": [{"urlEnv": "SLACK_WEBHOOK_URL"}]}`);
    else
      n.webhooks.forEach((h: unknown, i: number) => {
        const f = `notify.webhooks[${i}]`;
        if (!isObj(h)) return p.push(`${at}.${f}: expected an object {"urlEnv": "..."}`);
        if (typeof h.urlEnv !== 'string' || !ENV_NAME.test(h.urlEnv)) {
          p.push(`${at}.${f}.urlEnv: expected the NAME of an environment variable holding the webhook URL (never the URL itself)`);
        } else if (!env[h.urlEnv]) {
          p.push(`${at}.${f}.urlEnv: environment variable ${h.urlEnv} is not set on this worker`);
        } else if (!/^https?:\/\/[^\s]+$/.test(env[h.urlEnv]!)) {
          // The value is a secret: say what is wrong with it without repeating it.
          p.push(`${at}.${f}.urlEnv: environment variable ${h.urlEnv} does not hold an http(s) URL`);
        }
        if (h.events !== undefined) {
          const known: readonly string[] = NOTIFY_EVENTS;
          if (!Array.isArray(h.events) || h.events.length === 0 || h.events.some((e) => typeof e !== 'string' || !known.includes(e))) {
            p.push(`${at}.${f}.events: expected a non-empty list of ${NOTIFY_EVENTS.map((e) => `"${e}"`).join(', ')} (or leave it out for all)`);
          }
        }
      });
  }
  return p;
}
