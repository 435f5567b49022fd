/**
 * A fault-injecting HTTP proxy in front of the stack's S3 server, for what moto never does on its
 * own: refuse some keys of a DeleteObjects call (S3 answers 200 with per-key <Error> entries, e.g.
 * AccessDenied from a bucket policy or object lock). Refused keys are taken out of the forwarded
 * request, so they really stay in the bucket, and reported as errors in the answer.
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface S3FaultProxy {
  endpoint: string;
  /** Keys to refuse, with how many more times each is refused (Infinity: until cleared). */
  refuse: Map<string, number>;
  refusals: number;
  /** While set, DeleteObjects calls wait for it before they reach S3 (a purge held mid-way); `held` counts them. */
  hold?: Promise<void>;
  held: number;
  close(): Promise<void>;
}

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** The key text of a DeleteObjects body, as S3 reads it (also used by s3-request-log.ts). */
export const xmlUnescape = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

export async function startS3FaultProxy(target: string): Promise<S3FaultProxy> {
  const upstream = new URL(target);
  const state: S3FaultProxy = { endpoint: '', refuse: new Map(), refusals: 0, held: 0, close: async () => undefined };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const hold = req.method === 'POST' && /[?&]delete(=|&|$)/.test(req.url ?? '') ? state.hold : undefined;
      if (!hold) return forward();
      state.held++;
      void hold.then(forward);
    });
    function forward() {
      let body = Buffer.concat(chunks);
      const headers: http.OutgoingHttpHeaders = { ...req.headers, host: upstream.host };
      const refused: string[] = [];
      const isDelete = req.method === 'POST' && /[?&]delete(=|&|$)/.test(req.url ?? '');
      if (isDelete) {
        const xml = body
          .toString('utf8')
          .replace(/<Object>\s*<Key>([^<]*)<\/Key>[\s\S]*?<\/Object>/g, (whole, k: string) => {
            const key = xmlUnescape(k);
            const left = state.refuse.get(key) ?? 0;
            if (left <= 0) return whole;
            state.refuse.set(key, left - 1);
            state.refusals++;
            refused.push(key);
            return '';
          });
        body = Buffer.from(xml, 'utf8');
        if (refused.length && !/<Object>/.test(xml)) {
          // Every key refused: S3 still answers 200 with only errors (an empty <Delete> would be malformed upstream).
          const errors = refused
            .map(
              (k) =>
                `<Error><Key>${xmlEscape(k)}</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`,
            )
            .join('');
          const answer = `<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${errors}</DeleteResult>`;
          res.writeHead(200, {
            'content-type': 'application/xml',
            'content-length': String(Buffer.byteLength(answer)),
          });
          res.end(answer);
          return;
        }
        for (const h of Object.keys(headers))
          if (
            /^(content-md5|x-amz-checksum-|x-amz-sdk-checksum-algorithm|x-amz-trailer|content-encoding|x-amz-decoded-content-length)/i.test(
              h,
            )
          )
            delete headers[h];
        headers['content-md5'] = createHash('md5').update(body).digest('base64');
        headers['content-length'] = String(body.length);
        headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      }
      const up = http.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
        (ur) => {
          const out: Buffer[] = [];
          ur.on('data', (c: Buffer) => out.push(c));
          ur.on('end', () => {
            let answer = Buffer.concat(out);
            const h = { ...ur.headers };
            if (isDelete && refused.length && ur.statusCode === 200) {
              const errors = refused
                .map(
                  (k) =>
                    `<Error><Key>${xmlEscape(k)}</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`,
                )
                .join('');
              answer = Buffer.from(
                answer.toString('utf8').replace('</DeleteResult>', `${errors}</DeleteResult>`),
                'utf8',
              );
              h['content-length'] = String(answer.length);
              delete h['content-md5'];
            }
            res.writeHead(ur.statusCode ?? 502, h);
            res.end(answer);
          });
        },
      );
      up.on('error', (e) => {
        res.writeHead(502);
        res.end(String(e));
      });
      up.end(body);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  state.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () => new Promise<void>((r) => server.close(() => r()));
  return state;
}
