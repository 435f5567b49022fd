/**
 * `scripts/stack up` names the real cause when a service cannot have its port: not only a listener
 * (test/stack.test.ts), but a port held in TIME-WAIT by a closed connection whose local port it was,
 * which a listener is refused for up to a minute. The service exits at once; up must say why, at
 * once, with the tail of its log. Needs only PostgreSQL's binaries, not a running stack.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { STACK_SCRIPT } from './support/stack-env';

jest.setTimeout(120_000);

function stack(args: string[], env: NodeJS.ProcessEnv) {
  const r = spawnSync(STACK_SCRIPT, args, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 110_000 });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve, reject) => s.once('error', reject).listen(0, '127.0.0.1', () => resolve()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * Leaves a TIME-WAIT socket whose local port is `port`, as an outgoing connection that closed first
 * does. Python, because Node's client sockets set SO_REUSEADDR, whose TIME-WAIT does not block a bind.
 */
function timeWaitOn(port: number): void {
  const py = [
    'import socket, sys, time',
    'srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)',
    'cli = socket.socket(); cli.bind(("127.0.0.1", int(sys.argv[1]))); cli.connect(srv.getsockname())',
    'conn, _ = srv.accept(); cli.close(); time.sleep(0.2); conn.close(); srv.close()',
  ].join('\n');
  const r = spawnSync('python3', ['-c', py, String(port)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`could not make a TIME-WAIT socket on ${port}: ${r.stderr}`);
  const ss = spawnSync('ss', ['-tanH', 'state', 'time-wait', `( sport = :${port} )`], { encoding: 'utf8' });
  expect(ss.stdout.trim()).not.toBe(''); // the situation under test really exists
}

describe('scripts/stack up when a port cannot be had', () => {
  let stateDir: string;
  let knobs: NodeJS.ProcessEnv;

  beforeEach(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-stack-ports-'));
    knobs = { RR_STATE_DIR: stateDir, RR_PG_PORT: String(await freePort()) };
  });

  afterEach(() => {
    stack(['down', 'postgres'], knobs); // in case it did start
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('a port held in TIME-WAIT: the cause, the fix and the log, not "did not start within 120s"', () => {
    const port = Number(knobs.RR_PG_PORT);
    timeWaitOn(port);
    const r = stack(['up', 'postgres'], knobs);
    expect(r.code).toBe(1);
    const lines = r.stderr
      .trim()
      .split('\n')
      .filter((l) => !/^postgres: initdb /.test(l));
    expect(lines[0]).toMatch(
      new RegExp(
        `^scripts/stack: postgres exited during start-up \\(\\d+s after it was started\\): port ${port} is held in TIME-WAIT .*RR_PG_PORT=<port>`,
      ),
    );
    expect(r.stderr).not.toMatch(/within \d+s/);
    expect(lines[1]).toContain('last lines of');
    expect(lines.slice(2).join('\n')).toMatch(/could not bind .*Address already in use/);
    expect(fs.existsSync(path.join(stateDir, 'postgres.pid'))).toBe(false);
  });

  test('a port number out of range is refused before anything starts', () => {
    const r = stack(['up', 'postgres'], { ...knobs, RR_PG_PORT: '65536' });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      'scripts/stack: RR_PG_PORT=65536 is not a TCP port (1-65535): choose a free one, e.g. below 32768',
    );
  });
});
