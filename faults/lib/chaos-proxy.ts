/**
 * The S3 faults the suite injects, in front of test/support/s3-fault-proxy.ts (which refuses chosen
 * keys of a DeleteObjects call) in front of the stack's S3 server: a share of requests answered
 * 503 SlowDown, 500 or 403, their connection reset, or never answered (until the client gives up); ListObjectsV2
 * failing from its second page on (mid-walk). Bound to port 0; pass-through until a rule is set.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startS3FaultProxy, type S3FaultProxy } from '../../test/support/s3-fault-proxy';

export interface ChaosRule {
  /**
   * Which requests: any, a ListObjectsV2 (GET on the bucket with list-type=2), a DeleteObjects (POST ?delete), a
   * CopyObject (PUT with x-amz-copy-source).
   */
  match: 'any' | 'list' | 'list-continued' | 'delete' | 'copy';
  /**
   * forbidden: 403 AccessDenied, a failure that does not pass by itself (a bucket policy, a wrong key); hold: never
   * answered, until the client gives up.
   */
  action: 'slowdown' | 'error500' | 'forbidden' | 'reset' | 'hold';
  /** Every n-th matching request (1: each). */
  every: number;
  /** How many faults at most (Infinity: until cleared). */
  times: number;
}

export interface ChaosProxy {
  endpoint: string;
  rule?: ChaosRule;
  /** Faults injected since the last reset. */
  injected: number;
  /** Requests that reached the S3 server since the last reset, by kind. */
  seen: { list: number; delete: number; copy: number; other: number };
  refuser: S3FaultProxy;
  reset(): void;
  close(): Promise<void>;
}

function kindOf(req: http.IncomingMessage): 'list' | 'list-continued' | 'delete' | 'copy' | 'other' {
  const url = req.url ?? '';
  if (req.method === 'POST' && /[?&]delete(=|&|$)/.test(url)) return 'delete';
  if (req.method === 'PUT' && req.headers['x-amz-copy-source']) return 'copy';
  if (req.method === 'GET' && /[?&]list-type=2/.test(url))
    return /[?&](continuation-token|start-after)=/.test(url) ? 'list-continued' : 'list';
  return 'other';
}

export async function startChaosProxy(s3Endpoint: string): Promise<ChaosProxy> {
  const refuser = await startS3FaultProxy(s3Endpoint);
  const upstream = new URL(refuser.endpoint);
  let matched = 0;
  const state: ChaosProxy = {
    endpoint: '',
    injected: 0,
    seen: { list: 0, delete: 0, copy: 0, other: 0 },
    refuser,
    reset() {
      state.rule = undefined;
      state.injected = 0;
      state.seen = { list: 0, delete: 0, copy: 0, other: 0 };
      matched = 0;
      refuser.refuse.clear();
      refuser.refusals = 0;
    },
    close: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    const kind = kindOf(req);
    const r = state.rule;
    const hit =
      r &&
      state.injected < r.times &&
      (r.match === 'any' || r.match === kind || (r.match === 'list' && kind === 'list-continued')) &&
      ++matched % r.every === 0;
    if (hit) {
      state.injected++;
      req.resume();
      if (r.action === 'hold') return;
      if (r.action === 'reset') {
        req.socket.destroy();
        return;
      }
      const [status, code, msg] =
        r.action === 'slowdown'
          ? [503, 'SlowDown', 'Please reduce your request rate.']
          : r.action === 'forbidden'
            ? [403, 'AccessDenied', 'Access Denied']
            : [500, 'InternalError', 'We encountered an internal error. Please try again.'];
      const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${msg}</Message><RequestId>faults</RequestId></Error>`;
      res.writeHead(status, { 'content-type': 'application/xml', 'content-length': String(Buffer.byteLength(body)) });
      res.end(body);
      return;
    }
    state.seen[kind === 'list-continued' ? 'list' : kind]++;
    const up = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  state.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await refuser.close();
  };
  return state;
}
