/**
 * A pass-through HTTP proxy in front of the stack's S3 server that records every request the worker
 * makes: method, path, query, and for DeleteObjects the keys it carries. The purge tests count
 * requests with it (issue 9: the purge's cost follows what it deletes, not what the bucket holds).
 * Bodies are forwarded unchanged. Listens on port 0.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { xmlUnescape } from './s3-fault-proxy';

export interface S3Request {
  method: string;
  path: string;
  query: URLSearchParams;
  kind: 'deleteObjects' | 'list' | 'head' | 'other';
  /** DeleteObjects: the keys sent. */
  keys: string[];
}

export interface S3RequestLog {
  endpoint: string;
  requests: S3Request[];
  close(): Promise<void>;
}

export async function startS3RequestLog(target: string): Promise<S3RequestLog> {
  const upstream = new URL(target);
  const log: S3RequestLog = { endpoint: '', requests: [], close: async () => undefined };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://x');
      const isDelete = req.method === 'POST' && url.searchParams.has('delete');
      const keys = isDelete
        ? [...body.toString('utf8').matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => xmlUnescape(m[1]))
        : [];
      const kind = isDelete
        ? 'deleteObjects'
        : req.method === 'GET' && url.searchParams.get('list-type') === '2'
          ? 'list'
          : req.method === 'HEAD'
            ? 'head'
            : 'other';
      log.requests.push({
        method: req.method ?? '',
        path: decodeURIComponent(url.pathname),
        query: url.searchParams,
        kind,
        keys,
      });
      const up = http.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
        },
        (ur) => {
          res.writeHead(ur.statusCode ?? 502, ur.headers);
          ur.pipe(res);
        },
      );
      up.on('error', (e) => {
        res.writeHead(502);
        res.end(String(e));
      });
      up.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  log.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  log.close = () => new Promise<void>((r) => server.close(() => r()));
  return log;
}
