/**
 * Where the purge keeps a copy of each object before deleting it (storage.quarantine), so that a
 * restore finds them by the reset run's id: `<prefix><reset run id>/<service>/<original key>`.
 */
import type { QuarantineConfig } from '../../config/types';

export function quarantineRunPrefix(q: QuarantineConfig, runId: string, service?: string): string {
  const base = q.prefix;
  const root = base === '' || base.endsWith('/') ? base : `${base}/`;
  return `${root}${runId}/${service !== undefined ? `${service}/` : ''}`;
}

export function quarantineKey(q: QuarantineConfig, runId: string, service: string, key: string): string {
  return `${quarantineRunPrefix(q, runId, service)}${key}`;
}

/** Runs fn over items, at most `limit` at a time (server-side copies are independent requests). */
export async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
