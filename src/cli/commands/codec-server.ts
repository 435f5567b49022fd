import type { AddressInfo } from 'node:net';
import { AesGcmCodec } from '../../encryption/codec';
import { createCodecServer } from '../../encryption/codec-server';
import { CODEC_KEYS_ENV, codecKeysFromEnv, EncryptionConfigError } from '../../encryption/keys';
import { Command } from '../command';
import { UsageError } from '../errors';
import { EXIT } from '../exit-codes';

export const CODEC_TOKEN_ENV = 'RR_CODEC_TOKEN';

export const codecServerCommand: Command = {
  name: 'codec-server',
  summary: 'Serve /encode and /decode with the keys of RR_CODEC_KEYS, for the Web UI (decoded payloads).',
  positionals: [],
  options: {
    port: { type: 'string', value: '<N>', description: 'port to listen on (default 8081; 0: any free port)' },
    host: { type: 'string', value: '<ip>', description: 'address to listen on (default 127.0.0.1)' },
    origin: {
      type: 'string',
      value: '<URL>[,<URL>]',
      description: "the Web UI's origin(s) allowed by CORS (default: $RR_CODEC_ORIGIN or http://localhost:8233)",
    },
  },
  details: `Needs ${CODEC_KEYS_ENV} (the same keys as the worker). With ${CODEC_TOKEN_ENV} set, every request
must carry "Authorization: Bearer <token>" (401 otherwise). Point the Web UI at it: its codec endpoint
setting, or \`temporal server start-dev --ui-codec-endpoint http://127.0.0.1:<port>\`; the CLI:
\`temporal workflow show --codec-endpoint http://127.0.0.1:<port>\`. Runs until Ctrl-C.`,
  async run(ctx, { opts }) {
    const env = ctx.io.env;
    let keys;
    try {
      keys = codecKeysFromEnv(env);
    } catch (err) {
      if (err instanceof EncryptionConfigError) throw new UsageError(err.message);
      throw err;
    }
    if (!keys)
      throw new UsageError(
        `${CODEC_KEYS_ENV} is not set: the codec server needs the keys the worker encrypts with`,
        'e.g. RR_CODEC_KEYS="k1:$(openssl rand -base64 32)"',
      );
    const portText = (opts.port as string | undefined) ?? '8081';
    const port = Number(portText);
    if (!/^\d+$/.test(portText) || port > 65535)
      throw new UsageError(`--port ${JSON.stringify(portText)}: expected a port number`);
    const origins = ((opts.origin as string | undefined) ?? env.RR_CODEC_ORIGIN ?? 'http://localhost:8233')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const o of origins) {
      let u: URL | undefined;
      try {
        u = new URL(o);
      } catch {
        // reported below
      }
      if (!u || !/^https?:$/.test(u.protocol) || u.origin !== o.replace(/\/+$/, ''))
        throw new UsageError(
          `--origin ${JSON.stringify(o)}: expected an origin like http://localhost:8233 (scheme, host, port; no path)`,
        );
    }
    const token = env[CODEC_TOKEN_ENV] || undefined;
    const server = createCodecServer({ codecs: [new AesGcmCodec(keys)], origins, token, log: (l) => ctx.note(l) });
    const host = (opts.host as string | undefined) ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new UsageError(`cannot listen on ${host}:${port}: ${e.code ?? e.message}`)),
      );
      server.listen(port, host, () => resolve());
    });
    const addr = server.address() as AddressInfo;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}`;
    ctx.emit({ url, origins, token: !!token, keys: [...keys.byId.keys()], encryptsWith: keys.current });
    ctx.print(
      `codec server on ${url} (encrypts with key "${keys.current}", decrypts ${[...keys.byId.keys()].join(', ')}; CORS for ${origins.join(', ')}; ${token ? 'bearer token required' : `no token (set ${CODEC_TOKEN_ENV} to require one)`})`,
    );
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) return resolve();
      ctx.signal.addEventListener('abort', () => resolve(), { once: true });
      process.once('SIGTERM', () => resolve());
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections?.();
    return EXIT.ok;
  },
};
