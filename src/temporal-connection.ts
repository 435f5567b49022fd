/**
 * Where the Temporal server is and how to authenticate, for the worker and the CLI alike: the
 * standard settings of every Temporal SDK and of the `temporal` CLI, read by @temporalio/envconfig.
 *
 *   precedence: --address/--namespace flags > TEMPORAL_* variables > the TOML profile > defaults
 *
 * The profile comes from the TOML file TEMPORAL_CONFIG_FILE names (else
 * $XDG_CONFIG_HOME/temporalio/temporal.toml, i.e. ~/.config/temporalio/temporal.toml), section
 * [profile.<TEMPORAL_PROFILE or --profile, "default" when neither>]. Variables: TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH/_DATA,
 * TEMPORAL_TLS_CLIENT_KEY_PATH/_DATA, TEMPORAL_TLS_SERVER_CA_CERT_PATH/_DATA, TEMPORAL_TLS_SERVER_NAME,
 * TEMPORAL_GRPC_META_<header>. Our earlier names TEMPORAL_TLS_CERT/KEY/CA (and _DATA) still work.
 *
 * Every problem is a TemporalSettingsError naming the variable, file or profile, before any
 * connection is tried; no message carries key material or the API key.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import {
  loadClientConfigFromToml,
  loadClientConfigProfile,
  toClientOptions,
  type ClientConfigProfile,
  type ConfigDataSource,
} from '@temporalio/envconfig';

export class TemporalSettingsError extends Error {}

export interface TemporalFlags {
  address?: string;
  namespace?: string;
  profile?: string;
}

export interface TemporalSettings {
  address: string;
  namespace: string;
  /** false: TLS explicitly off (TEMPORAL_TLS=false), even with an API key. */
  tls?: TLSConfig | boolean;
  apiKey?: string;
  metadata?: Record<string, string>;
  /** For messages: how TLS was configured, never the key material. */
  describe: string;
  /** For messages: `profile "prod" of /etc/temporal.toml`, when a profile file was read. */
  profile?: string;
}

export const DEFAULT_ADDRESS = 'localhost:7233';
export const DEFAULT_NAMESPACE = 'default';

/** Our names before envconfig, and the standard names they stand for. */
const LEGACY_TLS_NAMES: Record<string, string> = {
  TEMPORAL_TLS_CERT: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  TEMPORAL_TLS_KEY: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
  TEMPORAL_TLS_CA: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  TEMPORAL_TLS_CERT_DATA: 'TEMPORAL_TLS_CLIENT_CERT_DATA',
  TEMPORAL_TLS_KEY_DATA: 'TEMPORAL_TLS_CLIENT_KEY_DATA',
  TEMPORAL_TLS_CA_DATA: 'TEMPORAL_TLS_SERVER_CA_CERT_DATA',
};

/**
 * The environment as envconfig should see it: empty values count as unset (compose files and
 * systemd EnvironmentFiles write `X=`), old names mapped to the standard ones, and TEMPORAL_TLS
 * spelled as envconfig reads it (it takes only 1/true as true, so `yes` would silently mean off).
 */
function standardEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    if (v === '' && k.startsWith('TEMPORAL_') && !k.startsWith('TEMPORAL_GRPC_META_')) continue;
    out[k] = v;
  }
  for (const [old, standard] of Object.entries(LEGACY_TLS_NAMES)) {
    const v = out[old];
    if (v === undefined) continue;
    if (out[standard] !== undefined && out[standard] !== v) {
      throw new TemporalSettingsError(`${old} and ${standard} are both set, to different values: set only ${standard}`);
    }
    out[standard] = v;
    delete out[old];
  }
  const tls = out.TEMPORAL_TLS?.trim();
  if (tls !== undefined) {
    if (/^(1|true|yes|on)$/i.test(tls)) out.TEMPORAL_TLS = 'true';
    else if (/^(0|false|no|off)$/i.test(tls)) out.TEMPORAL_TLS = 'false';
    else throw new TemporalSettingsError(`TEMPORAL_TLS=${JSON.stringify(tls)}: use true or false`);
  }
  if (/^(1|true|yes|on)$/i.test(out.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION ?? '')) {
    // The TypeScript SDK cannot skip verification: refuse rather than silently verify (or not).
    throw new TemporalSettingsError(
      'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is not supported by this worker and CLI: name the server with TEMPORAL_TLS_SERVER_NAME or give its CA with TEMPORAL_TLS_SERVER_CA_CERT_PATH',
    );
  }
  return out;
}

/** The file envconfig would read, and whether someone named it (then it must exist). */
function configFile(env: Record<string, string>): { file?: string; named: boolean } {
  if (env.TEMPORAL_CONFIG_FILE) return { file: env.TEMPORAL_CONFIG_FILE, named: true };
  const base =
    env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME)
      ? env.XDG_CONFIG_HOME
      : env.HOME
        ? path.join(env.HOME, '.config')
        : undefined;
  return { file: base ? path.join(base, 'temporalio', 'temporal.toml') : undefined, named: false };
}

function readConfigFile(env: Record<string, string>): { file: string; data: string; profiles: string[] } | undefined {
  const { file, named } = configFile(env);
  if (!file) return undefined;
  let data: string;
  try {
    data = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !named) return undefined;
    throw new TemporalSettingsError(
      `${named ? `TEMPORAL_CONFIG_FILE=${file}` : file}: cannot read it (${code ?? err})`,
    );
  }
  let profiles: string[];
  try {
    // Strict: a misspelt key (adress = …) would otherwise connect somewhere else without a word.
    profiles = Object.keys(loadClientConfigFromToml(Buffer.from(data), { strict: true }).profiles);
  } catch (err) {
    // A file without any [profile.*] table makes envconfig trip over it; it simply has no profiles.
    if (err instanceof TypeError) profiles = [];
    else throw new TemporalSettingsError(`${file}: ${(err as Error).message}`);
  }
  return { file, data, profiles };
}

function checkReadable(what: string, source: ConfigDataSource | undefined): void {
  if (!source || !('path' in source)) return;
  try {
    fs.accessSync(source.path, fs.constants.R_OK);
  } catch (err) {
    throw new TemporalSettingsError(
      `${what} ${source.path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? err})`,
    );
  }
}

export function resolveTemporalSettings(rawEnv: NodeJS.ProcessEnv, flags: TemporalFlags = {}): TemporalSettings {
  const env = standardEnv(rawEnv);
  const profileName = flags.profile || env.TEMPORAL_PROFILE || undefined;
  const config = readConfigFile(env);
  if (profileName && !config?.profiles.includes(profileName)) {
    const where = config
      ? `${config.file} (its profiles: ${config.profiles.join(', ') || 'none'})`
      : `any config file (none at ${configFile(env).file ?? '$HOME/.config/temporalio/temporal.toml'}; set TEMPORAL_CONFIG_FILE)`;
    throw new TemporalSettingsError(`Temporal profile "${profileName}" is not in ${where}`);
  }
  const useFile = !!config && config.profiles.length > 0;
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({
      profile: profileName,
      ...(useFile ? { configSource: { data: config!.data }, configFileStrict: true } : { disableFile: true }),
      overrideEnvVars: env,
    });
  } catch (err) {
    throw new TemporalSettingsError(`Temporal settings${config ? ` (${config.file})` : ''}: ${(err as Error).message}`);
  }
  const usedProfile =
    useFile && (profileName || config!.profiles.includes('default'))
      ? `profile "${profileName ?? 'default'}" of ${config!.file}`
      : undefined;

  const t = profile.tls;
  if (t && !t.disabled && !!t.clientCert !== !!t.clientKey) {
    throw new TemporalSettingsError(
      "a TLS client certificate and its key go together: set both TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH (or the profile's tls.client_cert_path and tls.client_key_path), or neither",
    );
  }
  if (t && !t.disabled) {
    checkReadable('TLS client certificate', t.clientCert);
    checkReadable('TLS client key', t.clientKey);
    checkReadable('TLS server CA certificate', t.serverCACert);
  }
  const { connectionOptions, namespace } = toClientOptions(profile);
  const tls = connectionOptions.tls;

  const parts: string[] = [];
  if (tls && typeof tls === 'object') {
    if (tls.clientCertPair) parts.push('mTLS client certificate');
    if (tls.serverRootCACertificate) parts.push('custom CA');
  }
  if (tls && !parts.length) parts.push('TLS');
  if (profile.apiKey) parts.push('API key');
  return {
    address: flags.address || connectionOptions.address || DEFAULT_ADDRESS,
    namespace: flags.namespace || namespace || DEFAULT_NAMESPACE,
    tls: tls === undefined || tls === null ? undefined : normalizeTls(tls),
    ...(profile.apiKey ? { apiKey: profile.apiKey } : {}),
    ...(connectionOptions.metadata && Object.keys(connectionOptions.metadata).length
      ? { metadata: connectionOptions.metadata as Record<string, string> }
      : {}),
    describe: parts.length ? parts.join(', ') : 'plaintext',
    ...(usedProfile ? { profile: usedProfile } : {}),
  };
}

/**
 * One line for a connection that failed at start: the core SDK's error is a nested Rust debug dump
 * (`tonic::transport::Error(Transport, ConnectError(… "Connection refused" …))`), so keep only its
 * innermost message and say where the address came from and how to change it.
 */
export function temporalUnreachableMessage(settings: TemporalSettings, err: unknown): string {
  const raw = err instanceof Error ? err.message : String(err);
  // The innermost `message: "…"` of the dump, else the OS error kind, else the message as it is.
  const inner =
    [...raw.matchAll(/message: "([^"]+)"/g)].pop()?.[1] ?? /kind: (\w+)/.exec(raw)?.[1] ?? raw.split('\n')[0];
  const how = [settings.describe, settings.profile].filter(Boolean).join('; ');
  return (
    `cannot reach Temporal at ${settings.address} (${how}): ${inner}. ` +
    `Start the server there, or point TEMPORAL_ADDRESS (or TEMPORAL_PROFILE's address) at it; ` +
    `a secured server also needs TEMPORAL_TLS_* / TEMPORAL_API_KEY`
  );
}

/** envconfig leaves unset fields as undefined keys and PEM as Uint8Array; the SDK wants Buffers. */
function normalizeTls(tls: TLSConfig | boolean): TLSConfig | boolean {
  if (typeof tls === 'boolean') return tls;
  const out: TLSConfig = {};
  if (tls.serverNameOverride) out.serverNameOverride = tls.serverNameOverride;
  if (tls.serverRootCACertificate) out.serverRootCACertificate = Buffer.from(tls.serverRootCACertificate);
  if (tls.clientCertPair)
    out.clientCertPair = { crt: Buffer.from(tls.clientCertPair.crt), key: Buffer.from(tls.clientCertPair.key) };
  return Object.keys(out).length ? out : true;
}
