import { runMain } from './run-main';
import { checkRunDuration, commandHelp, parseCommandArgs, parseDurationMs } from '../../../src/cli/args';
import { checkTarget, taskQueueOf } from '../../../src/cli/command';
import { connectionSettings } from '../../../src/cli/connection';
import { UsageError } from '../../../src/cli/errors';
import { COMMANDS } from '../../../src/cli/index';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const spec = COMMANDS.find((c) => c.name === 'start')!;

describe('argument parsing', () => {
  test('positionals, command options and global options', () => {
    const p = parseCommandArgs(spec, ['demo', '--confirm', 'db', '--json', '-n', 'prod', '--detach']);
    expect(p.args).toEqual({ target: 'demo' });
    expect(p.opts).toMatchObject({ confirm: 'db', detach: true });
    expect(p.global).toEqual({ json: true, address: undefined, namespace: 'prod', profile: undefined, help: false });
    expect(parseCommandArgs(spec, ['demo', '--profile', 'staging']).global.profile).toBe('staging');
  });

  test('missing, extra and unknown arguments are usage errors', () => {
    expect(() => parseCommandArgs(spec, [])).toThrow(new UsageError('start: missing <target>'));
    expect(() => parseCommandArgs(spec, ['a', 'b'])).toThrow(/unexpected argument "b"/);
    expect(() => parseCommandArgs(spec, ['a', '--nope'])).toThrow(UsageError);
    expect(() => parseCommandArgs(spec, ['a', '--confirm'])).toThrow(/confirm/);
  });

  test('--help needs no positionals; help lists options', () => {
    expect(parseCommandArgs(spec, ['--help']).global.help).toBe(true);
    const h = commandHelp(spec);
    expect(h).toContain('usage: reset-runbook start <target> [options]');
    expect(h).toContain('--confirm <database>');
    expect(h).toContain('--json');
  });

  test('durations and target names', () => {
    expect(parseDurationMs('30m', 'x')).toBe(1_800_000);
    expect(parseDurationMs('90', 'x')).toBe(90_000);
    expect(() => parseDurationMs('soon', 'x')).toThrow(UsageError);
    expect(checkTarget('demo_1')).toBe('demo_1');
    expect(() => checkTarget("x' OR 1=1")).toThrow(UsageError);
    expect(taskQueueOf({})).toBe('reset-runbook');
    // The rules the targets file and the run's input use (src/config/rules.ts): the CLI refuses what the run would.
    expect(() => checkTarget('Demo.prod')).toThrow(/lower-case letters/);
    expect(checkRunDuration('24h', '--approval-timeout')).toBe('24h');
    for (const bad of ['1.5h', '90', 'soon'])
      expect(() => checkRunDuration(bad, '--approval-timeout')).toThrow(
        /--approval-timeout: .* is not a duration like "30m"/,
      );
    expect(taskQueueOf({ RR_TASK_QUEUE: 'q2' })).toBe('q2');
  });
});

describe('connection settings from TEMPORAL_* variables', () => {
  test('defaults: localhost, namespace default, plaintext', () => {
    expect(connectionSettings({})).toMatchObject({
      address: 'localhost:7233',
      namespace: 'default',
      tls: undefined,
      describe: 'plaintext',
    });
  });
  test('flags win over the environment', () => {
    expect(connectionSettings({ TEMPORAL_ADDRESS: 'a:1', TEMPORAL_NAMESPACE: 'n' }, { address: 'b:2' })).toMatchObject({
      address: 'b:2',
      namespace: 'n',
    });
  });
  test('mTLS from files, API key turns TLS on, TEMPORAL_TLS=false turns it off', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-tls-'));
    fs.writeFileSync(path.join(dir, 'c.pem'), 'CERT');
    fs.writeFileSync(path.join(dir, 'k.pem'), 'KEY');
    const s = connectionSettings({
      TEMPORAL_TLS_CERT: path.join(dir, 'c.pem'),
      TEMPORAL_TLS_KEY: path.join(dir, 'k.pem'),
      TEMPORAL_TLS_SERVER_NAME: 'x',
    });
    expect(s.tls).toEqual({
      clientCertPair: { crt: Buffer.from('CERT'), key: Buffer.from('KEY') },
      serverNameOverride: 'x',
    });
    expect(s.describe).toBe('mTLS client certificate');
    const k = connectionSettings({ TEMPORAL_API_KEY: 'secret-value' });
    expect(k.tls).toBe(true);
    expect(k.describe).toBe('TLS, API key');
    expect(JSON.stringify(k.describe)).not.toContain('secret-value');
    // Off means off: `undefined` would let the SDK turn TLS on again for the API key.
    expect(connectionSettings({ TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' }).tls).toBe(false);
    expect(() => connectionSettings({ TEMPORAL_TLS_CERT: path.join(dir, 'c.pem') })).toThrow(/go together/);
    expect(() => connectionSettings({ TEMPORAL_PROFILE: 'nope' })).toThrow(
      /Temporal profile "nope" is not in any config file/,
    );
    expect(() => connectionSettings({ TEMPORAL_TLS_CA: path.join(dir, 'missing.pem') })).toThrow(/cannot read/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('main: dispatch and exit codes without a server', () => {
  test('no command: help on stderr, exit 2; --help: exit 0', async () => {
    expect((await runMain([])).code).toBe(2);
    const h = await runMain(['--help']);
    expect(h.code).toBe(0);
    for (const c of ['plan', 'start', 'follow', 'approve', 'resume', 'abort', 'status', 'list'])
      expect(h.out).toContain(`  ${c} `);
    expect(h.out).toContain('3  the run waits for an operator');
  });
  test('unknown command and bad usage: exit 2, JSON error with --json', async () => {
    const u = await runMain(['nope', '--json']);
    expect(u.code).toBe(2);
    expect(JSON.parse(u.out)).toMatchObject({ error: 'unknown command "nope"', exitCode: 2 });
    const m = await runMain(['approve']);
    expect(m.code).toBe(2);
    expect(m.err).toContain('approve: missing <run>');
    const l = await runMain(['list', '--limit', 'zero']);
    expect(l.code).toBe(2);
  });
});
