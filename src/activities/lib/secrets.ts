/**
 * Every secret value this worker holds, and the one redaction applied to whatever leaves an activity
 * (its result, its error, the tails of command output quoted in that error), see ../boundary.ts.
 *
 * Redacting whole URLs is not enough: a command that prints its environment or a libpq error shows
 * the bare password, and a percent-encoded password appears decoded in such output. So for each URL
 * named by a target's urlEnv the set holds the URL, its password as written (percent-encoded) and
 * decoded; then PGPASSWORD, the AWS secret key and session token, webhook URLs, and every variable a
 * target lists in `secretEnv`. The set is built from the worker's environment when the worker starts.
 */
import type { LoadedTargets } from '../../config/load';

/** Always secret when set in the worker's environment, whatever the targets say. */
export const ALWAYS_SECRET_ENV = ['PGPASSWORD', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];
/**
 * Values shorter than this are not redacted: replacing every "abc" in a message would make it
 * unreadable and protects nothing (such a secret is guessed faster than read). Operators are told.
 */
export const MIN_SECRET_LENGTH = 4;
export const REDACTED = '[redacted]';

export function passwordsOf(url: string): string[] {
  try {
    const raw = new URL(url).password;
    if (!raw) return [];
    let decoded = raw;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      /* a malformed escape: the raw form is what can appear */
    }
    return [...new Set([raw, decoded])];
  } catch {
    return [];
  }
}

/** The names of the variables whose values are secrets, for every target of the file. */
export function secretEnvNames(targets: LoadedTargets): string[] {
  const names = new Set(ALWAYS_SECRET_ENV);
  for (const t of Object.values(targets.targets)) {
    names.add(t.database.urlEnv);
    for (const d of t.extraDatabases ?? []) names.add(d.urlEnv);
    for (const h of t.notify?.webhooks ?? []) names.add(h.urlEnv);
    for (const n of t.secretEnv ?? []) names.add(n);
  }
  return [...names];
}

export function collectSecrets(env: NodeJS.ProcessEnv, targets: LoadedTargets): string[] {
  const out = new Set<string>();
  for (const name of secretEnvNames(targets)) {
    const v = env[name];
    if (!v) continue;
    out.add(v);
    // A URL's password, and (a secret that is itself URL-encoded somewhere) its decoded form.
    for (const p of passwordsOf(v)) out.add(p);
    try {
      out.add(decodeURIComponent(v));
    } catch {
      /* not URL-encoded */
    }
  }
  return [...out].filter((s) => s.length >= MIN_SECRET_LENGTH);
}

export interface Redactor {
  text(s: string): string;
  /** Strings anywhere inside a JSON-like value (a result, failure details), other values unchanged. */
  value<T>(v: T): T;
}

export function redactor(secrets: string[]): Redactor {
  // Longest first: a URL is replaced whole before its password inside it.
  const known = [...new Set(secrets)].filter((s) => s.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
  const text = (s: string): string => {
    let out = s;
    for (const k of known) if (out.includes(k)) out = out.split(k).join(REDACTED);
    // Any other URL with credentials in it (a URL this worker does not know of, printed by a command).
    return out.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]*:[^\s/@]*@/gi, `$1${REDACTED}@`);
  };
  const value = <T>(v: T): T => {
    if (typeof v === 'string') return text(v) as T;
    if (Array.isArray(v)) return v.map(value) as T;
    if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) o[k] = value(x);
      return o as T;
    }
    return v;
  };
  return { text, value };
}

/** One text scrubbed of the given secrets (and of any URL's credentials), for a command's output. */
export function redactText(text: string, secrets: string[]): string {
  return redactor(secrets).text(text);
}

/**
 * Scrubs an error in place (message, stack — Temporal sends the stack to the server —, failure
 * details and causes), keeping its class: a CancelledFailure must stay one for the SDK to report a
 * cancellation, an ApplicationFailure keeps its type and non-retryable flag.
 */
export function redactError(err: unknown, r: Redactor, depth = 0): unknown {
  if (!(err instanceof Error) || depth > 5) return typeof err === 'string' ? r.text(err) : err;
  const e = err as Error & { details?: unknown[]; cause?: unknown };
  try {
    e.message = r.text(e.message);
    if (e.stack) e.stack = r.text(e.stack);
    if (Array.isArray(e.details))
      Object.defineProperty(e, 'details', {
        value: r.value(e.details),
        configurable: true,
        enumerable: true,
        writable: true,
      });
    if (e.cause) redactError(e.cause, r, depth + 1);
  } catch {
    // A frozen error: replace it by a plain one saying the same, scrubbed.
    return new Error(r.text(e.message));
  }
  return e;
}
