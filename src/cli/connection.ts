/**
 * Where the Temporal server is, from the same environment variables the `temporal` CLI reads:
 * TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS, TEMPORAL_TLS_CERT/KEY/CA (paths) or
 * TEMPORAL_TLS_CERT_DATA/KEY_DATA/CA_DATA (PEM), TEMPORAL_TLS_SERVER_NAME,
 * TEMPORAL_TLS_DISABLE_HOST_VERIFICATION, TEMPORAL_API_KEY. Flags --address and --namespace win.
 * RR_CODEC_KEYS (as for the worker): payloads this CLI writes are encrypted and those it reads decrypted.
 */
import { readFileSync } from 'node:fs';
import { Client, Connection, ConnectionOptions, TLSConfig } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { dataConverterFromEnv } from '../encryption/data-converter';
import { EncryptionConfigError } from '../encryption/keys';
import { CliError } from './errors';
import { EXIT } from './exit-codes';

export interface ConnectionSettings {
  address: string;
  namespace: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
  /** The encrypting data converter, when RR_CODEC_KEYS is set. */
  dataConverter?: DataConverter;
  /** For messages: how TLS was configured, never the key material. */
  describe: string;
}

function truthy(v: string | undefined): boolean {
  return v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());
}

function readPem(env: NodeJS.ProcessEnv, pathVar: string, dataVar: string): Buffer | undefined {
  const data = env[dataVar];
  if (data) return Buffer.from(data);
  const path = env[pathVar];
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new CliError(`${pathVar}=${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? err})`, EXIT.usage);
  }
}

export function connectionSettings(env: NodeJS.ProcessEnv, flags: { address?: string; namespace?: string } = {}): ConnectionSettings {
  const address = flags.address ?? env.TEMPORAL_ADDRESS ?? 'localhost:7233';
  const namespace = flags.namespace ?? env.TEMPORAL_NAMESPACE ?? 'default';
  const cert = readPem(env, 'TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_CERT_DATA');
  const key = readPem(env, 'TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_KEY_DATA');
  const ca = readPem(env, 'TEMPORAL_TLS_CA', 'TEMPORAL_TLS_CA_DATA');
  const serverName = env.TEMPORAL_TLS_SERVER_NAME || undefined;
  const apiKey = env.TEMPORAL_API_KEY || undefined;
  if ((cert && !key) || (key && !cert)) {
    throw new CliError('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: set both or neither', EXIT.usage);
  }
  const tlsWanted = truthy(env.TEMPORAL_TLS) || !!cert || !!ca || !!serverName || !!apiKey;
  const tlsOff = env.TEMPORAL_TLS !== undefined && !truthy(env.TEMPORAL_TLS);
  let tls: TLSConfig | boolean | undefined;
  const parts: string[] = [];
  if (tlsWanted && !tlsOff) {
    const cfg: TLSConfig = {};
    if (cert && key) {
      cfg.clientCertPair = { crt: cert, key };
      parts.push('mTLS client certificate');
    }
    if (ca) {
      cfg.serverRootCACertificate = ca;
      parts.push('custom CA');
    }
    if (serverName) cfg.serverNameOverride = serverName;
    tls = Object.keys(cfg).length ? cfg : true;
    if (!parts.length) parts.push('TLS');
  }
  if (apiKey) parts.push('API key');
  let dataConverter: DataConverter | undefined;
  try {
    dataConverter = dataConverterFromEnv(env);
  } catch (err) {
    if (err instanceof EncryptionConfigError) throw new CliError(err.message, EXIT.usage);
    throw err;
  }
  return { address, namespace, tls, apiKey, dataConverter, describe: parts.length ? parts.join(', ') : 'plaintext' };
}

export interface Connected {
  client: Client;
  connection: Connection;
  settings: ConnectionSettings;
  close(): Promise<void>;
}

export async function connect(settings: ConnectionSettings): Promise<Connected> {
  const options: ConnectionOptions = { address: settings.address, connectTimeout: '5s' };
  if (settings.tls !== undefined) options.tls = settings.tls;
  if (settings.apiKey) options.apiKey = settings.apiKey;
  let connection: Connection;
  try {
    connection = await Connection.connect(options);
  } catch (err) {
    throw new CliError(
      `cannot reach Temporal at ${settings.address} (${settings.describe}): ${(err as Error).message}`,
      EXIT.unreachable,
      'set TEMPORAL_ADDRESS (and TEMPORAL_TLS_* / TEMPORAL_API_KEY for a secured server), or pass --address',
    );
  }
  const client = new Client({ connection, namespace: settings.namespace, ...(settings.dataConverter ? { dataConverter: settings.dataConverter } : {}) });
  try {
    await client.workflowService.describeNamespace({ namespace: settings.namespace });
  } catch (err) {
    await connection.close().catch(() => undefined);
    const msg = (err as Error).message;
    if (/not found/i.test(msg)) {
      throw new CliError(`namespace "${settings.namespace}" does not exist on ${settings.address}`, EXIT.unreachable, 'set TEMPORAL_NAMESPACE or pass --namespace');
    }
    throw new CliError(`Temporal at ${settings.address} refused namespace "${settings.namespace}": ${msg}`, EXIT.unreachable);
  }
  return { client, connection, settings, close: () => connection.close() };
}
