/**
 * Decodes, in place, every encrypted payload inside raw server answers (a run's history, describe's
 * pending activities) so the CLI's history-derived views read them as they read plain JSON. Failures
 * whose message and stack trace were moved into encoded attributes get them back.
 * Without codecs (encryption off) nothing changes.
 */
import type { PayloadCodec, Payload } from '@temporalio/common';
import { isEncrypted } from './codec';

export async function decodeRawPayloads<T>(value: T, codecs: PayloadCodec[]): Promise<T> {
  if (!codecs.length) return value;
  const found: { holder: Record<string, unknown> | unknown[]; key: string | number; payload: Payload }[] = [];
  const failures: Record<string, unknown>[] = [];
  const seen = new Set<unknown>();
  const walk = (node: unknown) => {
    if (!node || typeof node !== 'object' || seen.has(node) || ArrayBuffer.isView(node)) return;
    seen.add(node);
    const entries: [string | number, unknown][] = Array.isArray(node)
      ? node.map((v, i) => [i, v])
      : Object.entries(node);
    if (!Array.isArray(node) && 'encodedAttributes' in node && (node as Record<string, unknown>).encodedAttributes)
      failures.push(node as Record<string, unknown>);
    for (const [k, v] of entries) {
      if (isPayload(v) && isEncrypted(v)) found.push({ holder: node as Record<string, unknown>, key: k, payload: v });
      else walk(v);
    }
  };
  walk(value);
  let decoded = found.map((f) => f.payload);
  for (const codec of [...codecs].reverse()) decoded = await codec.decode(decoded);
  found.forEach((f, i) => ((f.holder as Record<string | number, unknown>)[f.key] = decoded[i]));
  for (const f of failures) restoreFailureText(f);
  return value;
}

function isPayload(v: unknown): v is Payload {
  return (
    !!v &&
    typeof v === 'object' &&
    'metadata' in v &&
    'data' in v &&
    !!(v as Payload).metadata &&
    typeof (v as Payload).metadata === 'object'
  );
}

/** The SDK's encoded failure attributes: {message, stack_trace} as a JSON payload. */
function restoreFailureText(f: Record<string, unknown>): void {
  const p = f.encodedAttributes as Payload;
  try {
    const attrs = JSON.parse(Buffer.from(p.data ?? new Uint8Array()).toString('utf8')) as {
      message?: string;
      stack_trace?: string;
    };
    if (typeof attrs.message === 'string') f.message = attrs.message;
    if (typeof attrs.stack_trace === 'string') f.stackTrace = attrs.stack_trace;
  } catch {
    // not JSON: leave the failure as the server gave it
  }
}
