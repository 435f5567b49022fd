/**
 * AES-256-GCM payload codec: every payload (inputs, results, heartbeats, signals, queries and, with
 * the failure converter's encoded attributes, failure messages and stack traces) is sealed before it
 * leaves this process. Runs outside the workflow sandbox, in the worker's, the CLI's and the codec
 * server's data converter.
 *
 * An encrypted payload: metadata {encoding: "binary/encrypted", "encryption-key-id": <id>},
 * data = 12-byte IV ‖ ciphertext of the original Payload (protobuf) ‖ 16-byte GCM tag.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec, ValueError } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { CodecKeys } from './keys';

export const ENCODING = 'binary/encrypted';
export const KEY_ID_KEY = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class UnknownKeyError extends Error {
  constructor(readonly keyId: string) {
    super(
      `payload encrypted with key "${keyId}", which is not in RR_CODEC_KEYS: add "${keyId}:<its base64 key>" (after the current key) to read it`,
    );
    this.name = 'UnknownKeyError';
  }
}

export class UndecryptableError extends Error {
  constructor(readonly keyId: string) {
    super(
      `payload encrypted with key "${keyId}" does not decrypt with the key of that id in RR_CODEC_KEYS (wrong key, or the payload was altered)`,
    );
    this.name = 'UndecryptableError';
  }
}

/** The codec's "cannot open this payload" errors, wherever the SDK wrapped them. */
export function keyErrorIn(err: unknown): UnknownKeyError | UndecryptableError | undefined {
  for (let e = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof UnknownKeyError || e instanceof UndecryptableError) return e;
  }
  return undefined;
}

export class AesGcmCodec implements PayloadCodec {
  constructor(private readonly keys: CodecKeys) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const id = this.keys.current;
    const key = this.keys.byId.get(id)!;
    return payloads.map((p) => ({
      metadata: { [METADATA_ENCODING_KEY]: Buffer.from(ENCODING), [KEY_ID_KEY]: Buffer.from(id) },
      data: seal(key, temporal.api.common.v1.Payload.encode(p).finish()),
    }));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      if (!isEncrypted(p)) return p;
      const idBytes = p.metadata?.[KEY_ID_KEY];
      if (!idBytes)
        throw new ValueError(`encrypted payload without an "${KEY_ID_KEY}": cannot tell which key sealed it`);
      const id = Buffer.from(idBytes).toString();
      const key = this.keys.byId.get(id);
      if (!key) throw new UnknownKeyError(id);
      let plain: Buffer;
      try {
        plain = open(key, Buffer.from(p.data ?? new Uint8Array()));
      } catch {
        throw new UndecryptableError(id);
      }
      return temporal.api.common.v1.Payload.decode(plain) as Payload;
    });
  }
}

export function isEncrypted(p: Payload): boolean {
  const enc = p.metadata?.[METADATA_ENCODING_KEY];
  return !!enc && Buffer.from(enc).toString() === ENCODING;
}

function seal(key: Buffer, plain: Uint8Array): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

function open(key: Buffer, data: Buffer): Buffer {
  if (data.length < IV_BYTES + TAG_BYTES) throw new Error('too short');
  const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
  return Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
}
