/**
 * The purge writes DeleteObjects' body itself (one string a call, not the SDK's tree of XML nodes: see
 * deleteObjectsXml). What reaches S3 must be what the SDK would have sent for the same keys: the same
 * bytes, and so the same length and checksum headers, whatever the keys hold. Both requests are caught
 * by a request handler on loopback-free S3 clients; nothing is sent anywhere.
 */
import { Readable } from 'node:stream';
import { DeleteObjectsCommand, S3Client } from '@aws-sdk/client-s3';
import { deleteBatch, deleteObjectsXml } from '../../../src/activities/lib/s3';

interface Caught {
  body: string;
  headers: Record<string, string>;
}

function catchingClient(caught: Caught[], answer = '<DeleteResult/>'): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9',
    forcePathStyle: true,
    credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
    requestHandler: {
      handle: async (req: { body: unknown; headers: Record<string, string> }) => {
        caught.push({ body: String(req.body), headers: req.headers });
        return { response: { statusCode: 200, headers: {}, body: Readable.from([Buffer.from(answer)]) } };
      },
    } as never,
  });
}

const ODD = [
  'a&b',
  `x<y>"'`,
  'new\nline\r',
  'ünï😀',
  '\u0085\u2028',
  'ctl\u0001',
  'plain/key.png',
  ''.padEnd(300, 'k'),
];

test("the body written for DeleteObjects is the SDK's own, byte for byte, with the same checksum", async () => {
  const keys = ODD.map((k) => `pre/${k}`);
  const sdk: Caught[] = [];
  await catchingClient(sdk).send(
    new DeleteObjectsCommand({ Bucket: 'bkt', Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }),
  );
  const ours: Caught[] = [];
  const r = await deleteBatch(catchingClient(ours), { bucket: 'bkt', prefix: 'pre/' }, keys);
  expect(ours).toHaveLength(1);
  expect(ours[0].body).toBe(sdk[0].body);
  expect(deleteObjectsXml(keys)).toBe(sdk[0].body);
  for (const h of ['content-length', 'content-type', 'x-amz-checksum-crc32', 'x-amz-content-sha256'])
    expect({ h, v: ours[0].headers[h] }).toEqual({ h, v: sdk[0].headers[h] });
  // A quiet answer with no errors: every key sent counts as deleted.
  expect(r).toEqual({ deleted: keys, errors: [] });
});

test('a quiet answer names the refused keys: only the others count as deleted', async () => {
  const keys = ['pre/a', 'pre/b', 'pre/c'];
  const answer =
    '<DeleteResult><Error><Key>pre/b</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>';
  const r = await deleteBatch(catchingClient([], answer), { bucket: 'bkt', prefix: 'pre/' }, keys);
  expect(r).toEqual({
    deleted: ['pre/a', 'pre/c'],
    errors: [{ key: 'pre/b', code: 'AccessDenied', message: 'Access Denied' }],
  });
});
