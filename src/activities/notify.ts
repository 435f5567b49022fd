/**
 * Notifications: a JSON POST of the run's message to each webhook the target configures for the
 * event (Slack incoming webhooks read its `text`). The URLs are secrets (a Slack URL is its own
 * credential), so they are read here from the worker's environment and never leave this file: not
 * in the activity's input, result, errors or heartbeats. A retry skips the webhooks already served
 * (their indexes ride in the heartbeat details), so a flaky receiver does not spam the others.
 */
import { Context } from '@temporalio/activity';
import type { NotifyEvent, NotifyMessage } from '../contract';
import { passwordsOf, redactor } from './lib/secrets';
import { resolveTarget, type ActivityDeps } from './lib/target';

/** Each POST gives up after this long; the workflow's retry policy decides how often to try again. */
const POST_TIMEOUT_MS = 10_000;

export interface NotifyOutcome {
  /** Webhooks that received the message (in this attempt or an earlier one). */
  delivered: number;
  /** Webhooks configured for the target but not for this event. */
  notSubscribed: number;
}

/**
 * Whether a webhook limited to `events` gets this one. A run that leaves the workers stopped is a
 * failed run, the worst kind: a webhook that asked for "failed" hears of it too.
 */
export function wants(events: readonly NotifyEvent[] | undefined, event: NotifyEvent): boolean {
  if (!events) return true;
  return events.includes(event) || (event === 'workersStillStopped' && events.includes('failed'));
}

export function createNotifyActivities(deps: ActivityDeps) {
  return {
    async sendNotification(message: NotifyMessage): Promise<NotifyOutcome> {
      const t = resolveTarget(deps, message.target);
      const ctx = Context.current();
      const hooks = (t.config.notify?.webhooks ?? []).map((h, index) => ({
        ...h,
        index,
        url: deps.env[h.urlEnv] ?? '',
      }));
      const wanted = hooks.filter((h) => wants(h.events, message.event));
      const secrets = [
        ...t.databases.flatMap((d) => [d.url, ...passwordsOf(d.url)]),
        ...hooks.map((h) => h.url),
        deps.env.AWS_SECRET_ACCESS_KEY,
        deps.env.AWS_SESSION_TOKEN,
      ];
      const body = JSON.stringify(redactMessage(message, secrets));

      const done = new Set<number>(
        (ctx.info.heartbeatDetails as { delivered?: number[] } | undefined)?.delivered ?? [],
      );
      const failures: string[] = [];
      for (const h of wanted) {
        if (done.has(h.index)) continue;
        const problem = await post(h.url, body, ctx.cancellationSignal);
        if (problem) failures.push(`webhook ${h.index + 1} (${h.urlEnv}): ${problem}`);
        else done.add(h.index);
        ctx.heartbeat({ delivered: [...done] });
      }
      if (failures.length) throw new Error(`Notification "${message.event}" not delivered to ${failures.join('; ')}`);
      return { delivered: wanted.length, notSubscribed: hooks.length - wanted.length };
    },
  };
}

/** undefined when the receiver answered 2xx; otherwise why not, in words that never include the URL. */
async function post(url: string, body: string, cancelled: AbortSignal): Promise<string | undefined> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.any([AbortSignal.timeout(POST_TIMEOUT_MS), cancelled]),
      redirect: 'error',
    });
    await res.arrayBuffer().catch(() => undefined);
    return res.ok ? undefined : `HTTP ${res.status}`;
  } catch (err) {
    // fetch's own messages can quote the URL; keep only the kind of failure.
    const e = err as { name?: string; cause?: { code?: string } };
    if (cancelled.aborted) throw err;
    if (e.name === 'TimeoutError') return `no answer within ${POST_TIMEOUT_MS / 1000}s`;
    return `request failed (${e.cause?.code ?? e.name ?? 'error'})`;
  }
}

/**
 * The message comes from the workflow, whose texts quote activities' errors: scrubbed once more, with
 * the worker's one redactor (lib/secrets.ts).
 */
export function redactMessage(m: NotifyMessage, secrets: (string | undefined)[]): NotifyMessage {
  return { ...m, text: redactor(secrets.filter((s): s is string => Boolean(s))).text(m.text) };
}
