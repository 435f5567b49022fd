/**
 * Encryption keys by id, from the environment, so keys can rotate:
 *
 *   RR_CODEC_KEYS="k2:<base64 of 32 bytes>,k1:<base64 of 32 bytes>"
 *
 * The first key encrypts; every listed key decrypts (payloads name the key that sealed them), so a
 * run written under k1 stays readable once k2 is first. Keys live only in the environment of the
 * worker, the CLI and the codec server: never in the targets file, never in history.
 */
export const CODEC_KEYS_ENV = 'RR_CODEC_KEYS';

export class EncryptionConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EncryptionConfigError';
  }
}

export interface CodecKeys {
  /** The id of the key new payloads are sealed with. */
  current: string;
  byId: Map<string, Buffer>;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** The keys from RR_CODEC_KEYS, or undefined when encryption is off (unset or empty). */
export function codecKeysFromEnv(env: NodeJS.ProcessEnv): CodecKeys | undefined {
  const raw = env[CODEC_KEYS_ENV]?.trim();
  if (!raw) return undefined;
  return parseCodecKeys(raw);
}

export function parseCodecKeys(raw: string): CodecKeys {
  const byId = new Map<string, Buffer>();
  let current: string | undefined;
  for (const [i, entry] of raw
    .split(',')
    .map((s) => s.trim())
    .entries()) {
    const colon = entry.indexOf(':');
    // Never echo the entry: it holds key material.
    if (colon < 0) throw new EncryptionConfigError(`${CODEC_KEYS_ENV}: entry ${i + 1} is not "<key id>:<base64 key>"`);
    const id = entry.slice(0, colon).trim();
    const b64 = entry.slice(colon + 1).trim();
    if (!ID.test(id))
      throw new EncryptionConfigError(
        `${CODEC_KEYS_ENV}: entry ${i + 1}: key id ${JSON.stringify(id)} must be letters, digits, '.', '_' or '-'`,
      );
    if (byId.has(id)) throw new EncryptionConfigError(`${CODEC_KEYS_ENV}: key id "${id}" is listed twice`);
    const key = /^[A-Za-z0-9+/]+={0,2}$/.test(b64) ? Buffer.from(b64, 'base64') : Buffer.alloc(0);
    if (key.length !== 32) {
      throw new EncryptionConfigError(
        `${CODEC_KEYS_ENV}: key "${id}" must be 32 bytes in base64 (AES-256), got ${key.length} bytes; make one with: openssl rand -base64 32`,
      );
    }
    byId.set(id, key);
    current ??= id;
  }
  return { current: current!, byId };
}
