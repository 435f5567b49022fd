/**
 * The codec server: the Temporal Web UI (and `temporal --codec-endpoint`) posts sealed payloads here
 * and shows what comes back, so those who can reach it (and hold its token) read decoded runs while
 * the Temporal server only ever stores ciphertext.
 *
 * Protocol: POST /decode and /encode (also under /<namespace>/, the CLI's templated form) with JSON
 * {"payloads":[{"metadata":{"<key>":"<base64>"},"data":"<base64>"}]} (proto3 JSON: every bytes field
 * base64), answered in the same shape; the UI sends the namespace in X-Namespace. The UI calls from
 * the browser, so the UI's origin gets CORS headers and its preflight (OPTIONS) an answer.
 */
import * as http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';

export interface CodecServerOptions {
  codecs: PayloadCodec[];
  /** Origins allowed to call from a browser (the Web UI's), e.g. http://localhost:8233. */
  origins: string[];
  /** When set, requests must carry "Authorization: Bearer <token>". */
  token?: string;
  /** Called per request, for the operator's log (never with payload contents). */
  log?: (line: string) => void;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;
const ALLOWED_HEADERS = 'content-type, x-namespace, authorization';

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function createCodecServer(opts: CodecServerOptions): http.Server {
  const origins = new Set(opts.origins.map((o) => o.replace(/\/+$/, '')));
  return http.createServer((req, res) => {
    const origin = req.headers.origin;
    if (origin && origins.has(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Vary', 'Origin');
    }
    const done = (status: number, body?: unknown) => {
      opts.log?.(
        `${req.method} ${req.url} ${status}${req.headers['x-namespace'] ? ` (namespace ${req.headers['x-namespace']})` : ''}`,
      );
      if (body === undefined) return void res.writeHead(status).end();
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    };
    const route = /^(?:\/[^/]+)?\/(encode|decode)\/?$/.exec((req.url ?? '').split('?')[0]);
    if (req.method === 'OPTIONS') {
      // Preflight: no token here, browsers never send credentials on it.
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
      res.setHeader('Access-Control-Max-Age', '600');
      return done(route ? 204 : 404);
    }
    if (!route) return done(404, { error: 'not found: POST /encode or /decode' });
    if (req.method !== 'POST') return done(405, { error: 'method not allowed: POST only' });
    if (opts.token && !bearerMatches(req.headers.authorization, opts.token)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      return done(401, { error: 'unauthorized: send Authorization: Bearer <token> (RR_CODEC_TOKEN)' });
    }
    readBody(req)
      .then(async (text) => {
        const payloads = parsePayloads(text);
        let out = payloads;
        const codecs = route[1] === 'encode' ? opts.codecs : [...opts.codecs].reverse();
        for (const c of codecs) out = route[1] === 'encode' ? await c.encode(out) : await c.decode(out);
        done(200, { payloads: out.map(toJson) });
      })
      .catch((err: unknown) => {
        if (err instanceof HttpError) return done(err.status, { error: err.message });
        // A payload the keys cannot open (unknown key id, altered data): the caller's problem, said plainly.
        done(400, { error: (err as Error)?.message ?? String(err) });
      });
  });
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1].trim());
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, `body over ${MAX_BODY_BYTES} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parsePayloads(text: string): Payload[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'body is not JSON: expected {"payloads":[...]}');
  }
  const list = (body as { payloads?: unknown })?.payloads;
  if (!Array.isArray(list)) throw new HttpError(400, 'expected {"payloads":[...]}');
  return list.map((p: JsonPayload, i) => {
    if (!p || typeof p !== 'object') throw new HttpError(400, `payloads[${i}] is not an object`);
    const metadata: Record<string, Uint8Array> = {};
    for (const [k, v] of Object.entries(p.metadata ?? {})) {
      if (typeof v !== 'string') throw new HttpError(400, `payloads[${i}].metadata.${k} is not base64 text`);
      metadata[k] = Buffer.from(v, 'base64');
    }
    return { metadata, data: Buffer.from(typeof p.data === 'string' ? p.data : '', 'base64') };
  });
}

function toJson(p: Payload): JsonPayload {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = Buffer.from(v).toString('base64');
  return { metadata, data: Buffer.from(p.data ?? new Uint8Array()).toString('base64') };
}
