/**
 * A counting proxy on loopback in front of the stack's S3 server: every S3 request of ours and of the
 * peer goes through it (the same extra hop for both), so requests per 1,000 objects deleted are
 * counted without touching the activities' internals. Bound to port 0 (the OS chooses).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RequestCounts {
  total: number;
  /** POST ?delete (DeleteObjects) */
  deleteObjects: number;
  /** DELETE of one key (DeleteObject) */
  deleteObject: number;
  /** GET ?list-type=2 (ListObjectsV2), of any prefix */
  list: number;
  /** ListObjectsV2 calls whose prefix is, or lies under, `variants/` (the one listing the purge may make) */
  listVariants: number;
  head: number;
  get: number;
  put: number;
  other: number;
}

export interface S3Counter {
  endpoint: string;
  counts: RequestCounts;
  reset(): void;
  close(): Promise<void>;
}

const zero = (): RequestCounts => ({
  total: 0,
  deleteObjects: 0,
  deleteObject: 0,
  list: 0,
  listVariants: 0,
  head: 0,
  get: 0,
  put: 0,
  other: 0,
});

export function classify(method: string, url: string, c: RequestCounts): void {
  const u = new URL(url, 'http://x');
  c.total++;
  if (method === 'POST' && u.searchParams.has('delete')) c.deleteObjects++;
  else if (method === 'DELETE') c.deleteObject++;
  else if (method === 'GET' && u.searchParams.get('list-type') === '2') {
    c.list++;
    // Path-style: /<bucket>?list-type=2&prefix=…; the prefix may carry the service prefix before variants/.
    if (/(^|\/)variants\//.test(u.searchParams.get('prefix') ?? '')) c.listVariants++;
  } else if (method === 'HEAD') c.head++;
  else if (method === 'GET') c.get++;
  else if (method === 'PUT') c.put++;
  else c.other++;
}

export async function startS3Counter(upstreamUrl: string): Promise<S3Counter> {
  const upstream = new URL(upstreamUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const state: S3Counter = {
    endpoint: '',
    counts: zero(),
    reset: () => (state.counts = zero()),
    close: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    classify(req.method ?? 'GET', req.url ?? '/', state.counts);
    const up = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent },
      (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      },
    );
    up.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(e));
    });
    req.pipe(up);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  state.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((r) => {
      agent.destroy();
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}
