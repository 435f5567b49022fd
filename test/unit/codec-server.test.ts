/**
 * `reset-runbook codec-server` over real HTTP (the CLI as a child process, on a port the OS picks):
 * encode -> decode round trip in the Web UI's JSON shape, CORS preflight for the UI's origin (and
 * none for another), 401 without the bearer token, 400 naming an unknown key id.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';

const REPO = path.resolve(__dirname, '..', '..');
const ORIGIN = 'http://127.0.0.1:28233';
const TOKEN = `tok-${randomBytes(8).toString('hex')}`;
const K1 = `k1:${randomBytes(32).toString('base64')}`;
let child: ChildProcess;
let url: string;
let log = '';

beforeAll(async () => {
  child = spawn(
    process.execPath,
    [
      '--require',
      'tsx/cjs',
      path.join(REPO, 'src', 'cli', 'index.ts'),
      'codec-server',
      '--port',
      '0',
      '--origin',
      ORIGIN,
      '--json',
    ],
    {
      cwd: REPO,
      env: { ...process.env, RR_CODEC_KEYS: K1, RR_CODEC_TOKEN: TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stderr!.on('data', (d) => (log += d));
  url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line).url);
    });
    child.once('exit', (code) => reject(new Error(`codec-server exited ${code}: ${out}${log}`)));
  });
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    await exited;
  }
});

const b64 = (s: string) => Buffer.from(s).toString('base64');
const jsonPayload = (value: unknown) => {
  const p = defaultPayloadConverter.toPayload(value);
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    data: Buffer.from(p.data!).toString('base64'),
  };
};
const post = (route: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-namespace': 'default', origin: ORIGIN, ...headers },
    body: JSON.stringify(body),
  });
const auth = { authorization: `Bearer ${TOKEN}` };

test('encode then decode gives back the payload; the encoded one holds no clear text', async () => {
  const value = { database: 'rr_codec_db', login: 'master@phonefin.example' };
  const enc = await post('/encode', { payloads: [jsonPayload(value)] }, auth);
  expect(enc.status).toBe(200);
  expect(enc.headers.get('access-control-allow-origin')).toBe(ORIGIN);
  const sealed = ((await enc.json()) as any).payloads;
  expect(Buffer.from(sealed[0].metadata.encoding, 'base64').toString()).toBe('binary/encrypted');
  expect(Buffer.from(sealed[0].metadata['encryption-key-id'], 'base64').toString()).toBe('k1');
  expect(Buffer.from(sealed[0].data, 'base64').toString('latin1')).not.toContain('rr_codec_db');
  // The CLI's templated form, /<namespace>/decode, answers too.
  const dec = await post('/default/decode', { payloads: sealed }, auth);
  expect(dec.status).toBe(200);
  const [p] = ((await dec.json()) as any).payloads;
  expect(Buffer.from(p.metadata.encoding, 'base64').toString()).toBe('json/plain');
  expect(JSON.parse(Buffer.from(p.data, 'base64').toString())).toEqual(value);
});

test('CORS preflight for the UI origin: methods and the headers the UI sends; nothing for another origin', async () => {
  const pre = await fetch(`${url}/decode`, {
    method: 'OPTIONS',
    headers: {
      origin: ORIGIN,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type,x-namespace,authorization',
    },
  });
  expect(pre.status).toBe(204);
  expect(pre.headers.get('access-control-allow-origin')).toBe(ORIGIN);
  expect(pre.headers.get('access-control-allow-methods')).toContain('POST');
  const allowed = pre.headers.get('access-control-allow-headers')!.toLowerCase();
  for (const h of ['content-type', 'x-namespace', 'authorization']) expect(allowed).toContain(h);
  const other = await fetch(`${url}/decode`, {
    method: 'OPTIONS',
    headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
  });
  expect(other.headers.get('access-control-allow-origin')).toBeNull();
});

test('without the bearer token (or with a wrong one): 401, nothing decoded', async () => {
  const sealed = ((await (await post('/encode', { payloads: [jsonPayload('secret')] }, auth)).json()) as any).payloads;
  const none = await post('/decode', { payloads: sealed });
  expect(none.status).toBe(401);
  expect(await none.text()).not.toContain(b64('"secret"'));
  expect((await post('/decode', { payloads: sealed }, { authorization: 'Bearer nope' })).status).toBe(401);
});

test('a payload sealed with a key it does not hold: 400 naming the key id; bad bodies: 400; other paths: 404', async () => {
  const foreign = {
    metadata: { encoding: b64('binary/encrypted'), 'encryption-key-id': b64('k9') },
    data: randomBytes(40).toString('base64'),
  };
  const r = await post('/decode', { payloads: [foreign] }, auth);
  expect(r.status).toBe(400);
  expect(((await r.json()) as any).error).toMatch(/key "k9"/);
  expect((await post('/decode', { nope: 1 }, auth)).status).toBe(400);
  expect((await post('/other', { payloads: [] }, auth)).status).toBe(404);
  expect(log).toMatch(/POST \/decode 401/);
});
