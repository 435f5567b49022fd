/**
 * The Temporal connection settings the worker and the CLI share (src/temporal-connection.ts):
 * TEMPORAL_* variables, the TOML profile file, flags, and which wins. No server needed.
 *
 *   RR_NO_STACK=1 npx jest --runInBand test/unit/temporal-connection.test.ts
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  resolveTemporalSettings,
  temporalUnreachableMessage,
  TemporalSettingsError,
} from '../../src/temporal-connection';

let dir: string;
let toml: string;
const pem = (name: string) => path.join(dir, name);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-envconfig-'));
  for (const f of ['ca.pem', 'c.pem', 'k.pem', 'old-c.pem', 'old-k.pem']) fs.writeFileSync(pem(f), f.toUpperCase());
  toml = path.join(dir, 'temporal.toml');
  fs.writeFileSync(
    toml,
    [
      '[profile.default]',
      'address = "default-host:7233"',
      'namespace = "from-default-profile"',
      '',
      '[profile.prod]',
      'address = "prod.tmprl.cloud:7233"',
      'namespace = "prod-ns"',
      'api_key = "profile-api-key-123"',
      '[profile.prod.tls]',
      `server_ca_cert_path = "${pem('ca.pem')}"`,
      'server_name = "prod.internal"',
      '[profile.prod.grpc_meta]',
      'x-team = "ops"',
      '',
      '[profile.mtls]',
      'address = "mtls:7233"',
      '[profile.mtls.tls]',
      `client_cert_path = "${pem('c.pem')}"`,
      `client_key_path = "${pem('k.pem')}"`,
    ].join('\n'),
  );
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('nothing set: localhost:7233, namespace default, plaintext', () => {
  expect(resolveTemporalSettings({})).toEqual({
    address: 'localhost:7233',
    namespace: 'default',
    tls: undefined,
    describe: 'plaintext',
  });
});

test('variables alone, as the temporal CLI reads them', () => {
  const s = resolveTemporalSettings({
    TEMPORAL_ADDRESS: 'a:1',
    TEMPORAL_NAMESPACE: 'n',
    TEMPORAL_API_KEY: 'env-key-456',
    TEMPORAL_GRPC_META_X_TRACE: 't',
  });
  expect(s).toMatchObject({
    address: 'a:1',
    namespace: 'n',
    apiKey: 'env-key-456',
    tls: true,
    metadata: { 'x-trace': 't' },
    describe: 'TLS, API key',
  });
  expect(s.profile).toBeUndefined();
});

test('the profile file: the default profile unless TEMPORAL_PROFILE names another', () => {
  expect(resolveTemporalSettings({ TEMPORAL_CONFIG_FILE: toml })).toMatchObject({
    address: 'default-host:7233',
    namespace: 'from-default-profile',
    describe: 'plaintext',
    profile: `profile "default" of ${toml}`,
  });
  const prod = resolveTemporalSettings({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'prod' });
  expect(prod).toEqual({
    address: 'prod.tmprl.cloud:7233',
    namespace: 'prod-ns',
    apiKey: 'profile-api-key-123',
    // CA-only TLS (no client certificate), as the worker now supports too.
    tls: { serverRootCACertificate: Buffer.from('CA.PEM'), serverNameOverride: 'prod.internal' },
    metadata: { 'x-team': 'ops' },
    describe: 'custom CA, API key',
    profile: `profile "prod" of ${toml}`,
  });
  // Messages never carry the key.
  expect(prod.describe + prod.profile).not.toContain('profile-api-key-123');
  expect(resolveTemporalSettings({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'mtls' })).toMatchObject({
    address: 'mtls:7233',
    tls: { clientCertPair: { crt: Buffer.from('C.PEM'), key: Buffer.from('K.PEM') } },
    describe: 'mTLS client certificate',
  });
});

test('the default file place: $XDG_CONFIG_HOME, else $HOME/.config, /temporalio/temporal.toml', () => {
  const home = path.join(dir, 'home');
  fs.mkdirSync(path.join(home, '.config', 'temporalio'), { recursive: true });
  fs.copyFileSync(toml, path.join(home, '.config', 'temporalio', 'temporal.toml'));
  expect(resolveTemporalSettings({ HOME: home }).address).toBe('default-host:7233');
  expect(resolveTemporalSettings({ HOME: home, XDG_CONFIG_HOME: path.join(home, '.config') }).address).toBe(
    'default-host:7233',
  );
  // No file there is no error: the defaults apply.
  expect(resolveTemporalSettings({ HOME: path.join(dir, 'nobody') }).address).toBe('localhost:7233');
});

test('precedence: flags over variables over the profile over defaults', () => {
  const env = { TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'prod', TEMPORAL_NAMESPACE: 'env-ns' };
  // A variable wins over the profile field; the profile's other fields stay.
  expect(resolveTemporalSettings(env)).toMatchObject({
    address: 'prod.tmprl.cloud:7233',
    namespace: 'env-ns',
    apiKey: 'profile-api-key-123',
  });
  // Flags win over both.
  expect(resolveTemporalSettings(env, { address: 'flag:1', namespace: 'flag-ns' })).toMatchObject({
    address: 'flag:1',
    namespace: 'flag-ns',
  });
  // --profile wins over TEMPORAL_PROFILE.
  expect(resolveTemporalSettings(env, { profile: 'mtls' })).toMatchObject({
    address: 'mtls:7233',
    namespace: 'env-ns',
    describe: 'mTLS client certificate',
  });
  // TEMPORAL_TLS=false turns TLS off even where an API key would turn it on.
  expect(resolveTemporalSettings({ ...env, TEMPORAL_TLS: 'false' }).tls).toBe(false);
  // Empty variables count as unset (compose files and EnvironmentFiles write `X=`).
  expect(resolveTemporalSettings({ ...env, TEMPORAL_NAMESPACE: '', TEMPORAL_ADDRESS: '' })).toMatchObject({
    address: 'prod.tmprl.cloud:7233',
    namespace: 'prod-ns',
  });
});

test('our earlier variable names still work, and cannot contradict the standard ones', () => {
  const s = resolveTemporalSettings({
    TEMPORAL_TLS_CERT: pem('old-c.pem'),
    TEMPORAL_TLS_KEY: pem('old-k.pem'),
    TEMPORAL_TLS_CA: pem('ca.pem'),
  });
  expect(s.tls).toEqual({
    clientCertPair: { crt: Buffer.from('OLD-C.PEM'), key: Buffer.from('OLD-K.PEM') },
    serverRootCACertificate: Buffer.from('CA.PEM'),
  });
  expect(resolveTemporalSettings({ TEMPORAL_TLS_CA_DATA: 'INLINE CA' }).tls).toEqual({
    serverRootCACertificate: Buffer.from('INLINE CA'),
  });
  expect(resolveTemporalSettings({ TEMPORAL_TLS: 'yes' }).tls).toBe(true);
  expect(() =>
    resolveTemporalSettings({ TEMPORAL_TLS_CA: pem('ca.pem'), TEMPORAL_TLS_SERVER_CA_CERT_PATH: pem('c.pem') }),
  ).toThrow(/TEMPORAL_TLS_CA and TEMPORAL_TLS_SERVER_CA_CERT_PATH are both set/);
});

test('bad settings are refused with what to fix, before any connection', () => {
  const bad = (env: NodeJS.ProcessEnv, flags = {}) => {
    try {
      resolveTemporalSettings(env, flags);
    } catch (err) {
      expect(err).toBeInstanceOf(TemporalSettingsError);
      return (err as Error).message;
    }
    throw new Error(`accepted ${JSON.stringify(env)}`);
  };
  expect(bad({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'staging' })).toBe(
    `Temporal profile "staging" is not in ${toml} (its profiles: default, prod, mtls)`,
  );
  expect(bad({ HOME: path.join(dir, 'nobody') }, { profile: 'prod' })).toMatch(
    /Temporal profile "prod" is not in any config file \(none at .*nobody\/\.config\/temporalio\/temporal\.toml; set TEMPORAL_CONFIG_FILE\)/,
  );
  expect(bad({ TEMPORAL_CONFIG_FILE: pem('missing.toml') })).toMatch(
    /^TEMPORAL_CONFIG_FILE=.*missing\.toml: cannot read it \(ENOENT\)$/,
  );
  const typo = path.join(dir, 'typo.toml');
  fs.writeFileSync(typo, '[profile.default]\nadress = "x:1"\n');
  expect(bad({ TEMPORAL_CONFIG_FILE: typo })).toMatch(/typo\.toml: .*unrecognized in profile\.default: adress/);
  const broken = path.join(dir, 'broken.toml');
  fs.writeFileSync(broken, '[profile.default\naddress = \n');
  expect(bad({ TEMPORAL_CONFIG_FILE: broken })).toMatch(/broken\.toml: /);
  expect(bad({ TEMPORAL_TLS_CLIENT_CERT_PATH: pem('c.pem') })).toMatch(/client certificate and its key go together/);
  expect(bad({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: pem('nope.pem') })).toMatch(
    /^TLS server CA certificate .*nope\.pem: cannot read it \(ENOENT\)$/,
  );
  expect(bad({ TEMPORAL_TLS: 'maybe' })).toBe('TEMPORAL_TLS="maybe": use true or false');
  expect(bad({ TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' })).toMatch(/not supported/);
  // A file without profiles is no error, and has no profile to give.
  const empty = path.join(dir, 'empty.toml');
  fs.writeFileSync(empty, '# nothing yet\n');
  expect(resolveTemporalSettings({ TEMPORAL_CONFIG_FILE: empty }).address).toBe('localhost:7233');
  expect(bad({ TEMPORAL_CONFIG_FILE: empty, TEMPORAL_PROFILE: 'prod' })).toMatch(/its profiles: none/);
});

test('an unreachable server at worker start: one line naming the address and TEMPORAL_ADDRESS, not the Rust dump', () => {
  // What NativeConnection.connect throws with nothing listening (SDK 1.x, core's tonic error).
  const raw = new Error(
    'Failed to connect to Temporal server: tonic::transport::Error(Transport, ConnectError(ConnectError("tcp connect error", Os { code: 111, kind: ConnectionRefused, message: "Connection refused" })))',
  );
  const line = temporalUnreachableMessage(resolveTemporalSettings({ TEMPORAL_ADDRESS: 'temporal.internal:7233' }), raw);
  expect(line).toBe(
    "cannot reach Temporal at temporal.internal:7233 (plaintext): Connection refused. Start the server there, or point TEMPORAL_ADDRESS (or TEMPORAL_PROFILE's address) at it; a secured server also needs TEMPORAL_TLS_* / TEMPORAL_API_KEY",
  );
  expect(line).not.toMatch(/tonic|\n/);
  const viaProfile = temporalUnreachableMessage(
    resolveTemporalSettings({ TEMPORAL_CONFIG_FILE: toml }),
    new Error('dns error: no such host'),
  );
  expect(viaProfile).toMatch(
    /^cannot reach Temporal at default-host:7233 \(plaintext; profile "default" of .*temporal\.toml\): dns error: no such host\./,
  );
});
