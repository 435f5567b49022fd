/**
 * Which S3 failures pass by themselves (the plan is tried again) and which do not (a plan error), told
 * apart on the errors the real SDK throws against a loopback server answering each way.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { s3ClientFor, s3ErrorText, s3FailureIsTransient } from '../../../src/activities/lib/s3';

type Answer = 'slowdown' | 'error500' | 'forbidden' | 'reset' | 'hang';

let server: http.Server;
let answer: Answer;
let port: number;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    if (answer === 'reset') return req.socket.destroy();
    if (answer === 'hang') return; // never answered: the client's request timeout ends it
    const status = { slowdown: 503, error500: 500, forbidden: 403 }[answer];
    res.writeHead(status).end(); // a HEAD's error has no body, as S3's has none
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

async function failureOf(a: Answer, endpoint = `http://127.0.0.1:${port}`): Promise<unknown> {
  answer = a;
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    requestHandler: { socketTimeout: 300 },
  });
  try {
    await s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' }));
  } catch (err) {
    return err;
  } finally {
    s3.destroy();
  }
  throw new Error('the request succeeded');
}

test.each<[Answer, boolean]>([
  ['slowdown', true],
  ['error500', true],
  ['reset', true],
  ['hang', true],
  ['forbidden', false],
])('%s: transient %s', async (a, transient) => {
  expect(s3FailureIsTransient(await failureOf(a))).toBe(transient);
});

test('an endpoint nobody listens on is not transient: a wrong endpoint is refused at once', async () => {
  const closed = http.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
  const free = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  expect(s3FailureIsTransient(await failureOf('slowdown', `http://127.0.0.1:${free}`))).toBe(false);
});

test("our client gives up on a request S3 never answers (the socket's idle timeout), and that is transient", async () => {
  answer = 'hang';
  // The credentials come from the AWS chain (this process's environment), as on a worker.
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
  const s3 = s3ClientFor({ endpoint: `http://127.0.0.1:${port}` }, { RR_S3_REQUEST_TIMEOUT_MS: '200' });
  const started = Date.now();
  try {
    const err = await s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ name: 'TimeoutError' });
    expect(s3FailureIsTransient(err)).toBe(true);
    // Five attempts of 200 ms and the SDK's backoff between them, far from the 60 s default.
    expect(Date.now() - started).toBeLessThan(30_000);
  } finally {
    s3.destroy();
  }
}, 40_000);

test('a HEAD refused with no body is told by its status: all S3 gives it is "UnknownError"', async () => {
  expect(s3ErrorText(await failureOf('forbidden'))).toBe('UnknownError (HTTP 403)');
  expect(s3ErrorText(await failureOf('slowdown'))).toBe('UnknownError (HTTP 503)');
  expect(s3ErrorText({ name: 'NoSuchBucket', message: 'The specified bucket does not exist' })).toBe(
    'NoSuchBucket: The specified bucket does not exist',
  );
});
