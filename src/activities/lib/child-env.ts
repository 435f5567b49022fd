/**
 * The environment of every child process: an allow-list, never the worker's whole environment. The
 * worker holds every target's secrets (database URLs, the S3 key, webhook URLs, marked variables);
 * a seed or stop command needs almost none of them, and whatever a child can read it can print into
 * the output that an error quotes, or pass on to anything it runs.
 *
 * - Every child: the basics a program expects (BASE below).
 * - pg_dump / pg_restore: plus the libpq variables built from the database's own URL (backup.ts).
 * - The target's commands (seeds, rebuild, workers' stop/start/status): plus exactly what the target
 *   passes in seeds.env / strategy.env / workers.env, `${VAR}` taken from the worker's environment.
 *   A Rails seed needs DATABASE_URL and RAILS_ENV: the target says so there (docs/operators/configure.md).
 */
/** Passed through from the worker to every child when set. SSH_AUTH_SOCK: stop/start over ssh with an agent. */
export const BASE_ENV = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'TERM',
  'SSH_AUTH_SOCK',
];

export function baseEnv(worker: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(worker))
    if (v !== undefined && (BASE_ENV.includes(k) || k.startsWith('LC_'))) out[k] = v;
  return out;
}

/** libpq reads these; pg_dump's argv then names nothing secret. */
export function libpqEnv(url: string, worker: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const u = new URL(url);
  // The basics only; the worker's own PG* and other secrets stay out.
  const env: NodeJS.ProcessEnv = baseEnv(worker);
  if (u.hostname) env.PGHOST = decodeURIComponent(u.hostname);
  if (u.port) env.PGPORT = u.port;
  if (u.username) env.PGUSER = decodeURIComponent(u.username);
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  env.PGDATABASE = decodeURIComponent(u.pathname.replace(/^\//, ''));
  const ssl = u.searchParams.get('sslmode');
  if (ssl) env.PGSSLMODE = ssl;
  const host = u.searchParams.get('host'); // unix socket form: postgres:///db?host=/run/postgresql
  if (host) env.PGHOST = host;
  return env;
}

/** A target command's environment: the basics plus what the target passes explicitly. */
export function targetCommandEnv(
  worker: NodeJS.ProcessEnv,
  explicit: Record<string, string> | undefined,
): NodeJS.ProcessEnv {
  return { ...baseEnv(worker), ...expandEnv(explicit, worker) };
}

/** `${VAR}` in a command's env values is taken from the worker's environment, so secrets stay out of the file. */
function expandEnv(values: Record<string, string> | undefined, env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values ?? {}))
    out[k] = v.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, n) => env[n] ?? '');
  return out;
}
