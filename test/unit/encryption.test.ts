/**
 * The AES-256-GCM payload codec and its keys: round trip, rotation (old payloads stay readable),
 * a clear error for an unknown key id or an altered payload, bad key settings refused up front,
 * and the CLI's decoding of raw history (payloads and encoded failure messages).
 */
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, DefaultFailureConverter, type Payload } from '@temporalio/common';
import { AesGcmCodec, ENCODING, KEY_ID_KEY } from '../../src/encryption/codec';
import { decodeRawPayloads } from '../../src/encryption/decode-raw';
import { parseCodecKeys, codecKeysFromEnv } from '../../src/encryption/keys';

const k1 = `k1:${randomBytes(32).toString('base64')}`;
const k2 = `k2:${randomBytes(32).toString('base64')}`;
const text = (p: Payload) => Buffer.from(p.data!).toString('utf8');

test('seals a payload: encoding binary/encrypted, the key id, no clear text; decodes back', async () => {
  const codec = new AesGcmCodec(parseCodecKeys(k1));
  const plain = defaultPayloadConverter.toPayload({ database: 'rr_secret_db', email: 'master@phonefin.example' });
  const [sealed] = await codec.encode([plain]);
  expect(Buffer.from(sealed.metadata!['encoding']).toString()).toBe(ENCODING);
  expect(Buffer.from(sealed.metadata![KEY_ID_KEY]).toString()).toBe('k1');
  expect(text(sealed)).not.toContain('rr_secret_db');
  expect(Buffer.from(sealed.data!).toString('latin1')).not.toContain('phonefin');
  const [back] = await codec.decode([sealed]);
  expect(defaultPayloadConverter.fromPayload(back)).toEqual({
    database: 'rr_secret_db',
    email: 'master@phonefin.example',
  });
  // Each seal has its own IV: the same value never gives the same ciphertext.
  const [again] = await codec.encode([plain]);
  expect(Buffer.compare(Buffer.from(again.data!), Buffer.from(sealed.data!))).not.toBe(0);
});

test('rotation: "k2,k1" encrypts with k2 and still reads what k1 sealed; k2 alone names k1 in its error', async () => {
  const [old] = await new AesGcmCodec(parseCodecKeys(k1)).encode([defaultPayloadConverter.toPayload('old run')]);
  const rotated = new AesGcmCodec(parseCodecKeys(`${k2},${k1}`));
  expect(defaultPayloadConverter.fromPayload((await rotated.decode([old]))[0])).toBe('old run');
  const [fresh] = await rotated.encode([defaultPayloadConverter.toPayload('new run')]);
  expect(Buffer.from(fresh.metadata![KEY_ID_KEY]).toString()).toBe('k2');
  await expect(new AesGcmCodec(parseCodecKeys(k2)).decode([old])).rejects.toThrow(
    /encrypted with key "k1", which is not in RR_CODEC_KEYS/,
  );
});

test('an altered payload or a different key under the same id is refused, not garbage', async () => {
  const [sealed] = await new AesGcmCodec(parseCodecKeys(k1)).encode([defaultPayloadConverter.toPayload('x')]);
  const bad = Buffer.from(sealed.data!);
  bad[bad.length - 20] ^= 1;
  await expect(new AesGcmCodec(parseCodecKeys(k1)).decode([{ ...sealed, data: bad }])).rejects.toThrow(
    /does not decrypt/,
  );
  const otherK1 = `k1:${randomBytes(32).toString('base64')}`;
  await expect(new AesGcmCodec(parseCodecKeys(otherK1)).decode([sealed])).rejects.toThrow(/key "k1" does not decrypt/);
});

test('plain payloads pass through decode (a run written before encryption was turned on)', async () => {
  const plain = defaultPayloadConverter.toPayload({ a: 1 });
  expect((await new AesGcmCodec(parseCodecKeys(k1)).decode([plain]))[0]).toBe(plain);
});

test('bad RR_CODEC_KEYS are refused with a clear error that never shows key material', () => {
  expect(codecKeysFromEnv({})).toBeUndefined();
  expect(codecKeysFromEnv({ RR_CODEC_KEYS: ' ' })).toBeUndefined();
  expect(() => parseCodecKeys('k1:' + randomBytes(16).toString('base64'))).toThrow(
    /key "k1" must be 32 bytes .* got 16 bytes/,
  );
  expect(() => parseCodecKeys('justakey')).toThrow(/entry 1 is not "<key id>:<base64 key>"/);
  expect(() => parseCodecKeys(`${k1},${k1}`)).toThrow(/listed twice/);
  expect(() => parseCodecKeys('bad id:' + randomBytes(32).toString('base64'))).toThrow(/key id "bad id"/);
  try {
    parseCodecKeys('k1:' + 'A'.repeat(20));
  } catch (e) {
    expect((e as Error).message).not.toContain('AAAA');
  }
  const keys = parseCodecKeys(`${k2}, ${k1}`);
  expect(keys.current).toBe('k2');
  expect([...keys.byId.keys()]).toEqual(['k2', 'k1']);
});

test('raw history for the CLI: sealed payloads and encoded failure messages are decoded in place', async () => {
  const codec = new AesGcmCodec(parseCodecKeys(k1));
  const fc = new DefaultFailureConverter({ encodeCommonAttributes: true });
  const failure = fc.errorToFailure(
    new Error('pg_dump: database "rr_secret_db" does not exist'),
    defaultPayloadConverter,
  );
  expect(failure.message).toBe('Encoded failure');
  failure.encodedAttributes = (await codec.encode([failure.encodedAttributes!]))[0];
  const [input] = await codec.encode([defaultPayloadConverter.toPayload({ target: 'demo' })]);
  const history = {
    events: [
      { workflowExecutionStartedEventAttributes: { input: { payloads: [input] } } },
      { activityTaskFailedEventAttributes: { failure } },
    ],
  };
  expect(JSON.stringify(history)).not.toContain('rr_secret_db');
  await decodeRawPayloads(history, [codec]);
  expect(
    defaultPayloadConverter.fromPayload(history.events[0].workflowExecutionStartedEventAttributes!.input.payloads[0]),
  ).toEqual({ target: 'demo' });
  expect(history.events[1].activityTaskFailedEventAttributes!.failure.message).toBe(
    'pg_dump: database "rr_secret_db" does not exist',
  );
  // Without codecs (encryption off) nothing is touched.
  const untouched = { events: [{ x: { payloads: [input] } }] };
  await decodeRawPayloads(untouched, []);
  expect(untouched.events[0].x.payloads[0]).toBe(input);
});
