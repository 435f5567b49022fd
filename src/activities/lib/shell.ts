/**
 * Running the target's own commands (worker stop/start, seeds, schema rebuild) and pg_dump/pg_restore
 * with a deadline, capturing the tail of their output for the error an operator will read.
 *
 * Two rules hold for every child process:
 * - It is stopped with its whole process group — on its deadline, and when the activity is cancelled
 *   (an operator's abort reaches a running step through the heartbeat; keepalive.ts).
 * - It dies with the worker that started it. A worker SIGKILLed mid-step must not leave a stop or start
 *   command (or pg_dump) running while the replacement worker's retry runs it again.
 *
 * How the second rule is kept, and why this way: each child is started as
 *   setpriv --pdeathsig TERM -- /bin/sh -c '<guard>' rr-guard <worker pid> <command…>
 * in a process group of its own. The kernel sends the guard shell SIGTERM the moment the worker dies
 * (PR_SET_PDEATHSIG, kept across exec), and the guard answers with `kill -KILL 0`: the whole group,
 * grandchildren of a shell command included, dies at once — before Temporal's heartbeat timeout can
 * even schedule the retry, so two copies never overlap. (The signal follows the thread that spawned
 * the child: Node spawns from its main thread, which lives exactly as long as the worker.) A pid-file registry reaped
 * before a step
 * re-runs a command would also work, but only on the same host, only after the fact, and at the risk
 * of killing a recycled pid; the death signal needs no state and no cleanup step. setpriv is part of
 * util-linux, essential on Debian (the Dockerfile's node:20-bookworm-slim has it). The guard also
 * refuses to start when the worker died before setpriv armed the signal (its parent is then no longer
 * the worker). Where setpriv is missing (a developer's macOS), children are still killed on deadline
 * and cancellation, and the worker says once that they will not die with it.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { baseEnv } from './child-env';
import { cancellation, cancelledFailure } from './keepalive';
import { redactText } from './secrets';

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string; // the last few KiB of stdout+stderr
  timedOut: boolean;
}

const TAIL = 4096;

/** The guard: $1 is the worker's pid, the rest the command. Exit 125: the worker is already gone. */
// The command runs in the background (so the trap can act while it runs), and sh gives a background
// command /dev/null as its stdin: fd 3 hands it the guard's own stdin (psql reads the restore from it).
const GUARD = `trap 'kill -KILL 0' TERM HUP INT; [ "$PPID" = "$1" ] || exit 125; shift; exec 3<&0; "$@" <&3 3<&- & wait $!`;

let setprivPath: string | null | undefined;
function findSetpriv(): string | null {
  if (setprivPath !== undefined) return setprivPath;
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/bin', '/bin', '/usr/sbin', '/sbin']);
  setprivPath = dirs.map((d) => path.join(d, 'setpriv')).find((p) => fs.existsSync(p)) ?? null;
  if (!setprivPath)
    process.stderr.write(
      'reset-runbook worker: setpriv (util-linux) not found; child commands will not die with this worker if it is killed\n',
    );
  return setprivPath;
}

/**
 * Spawns a command in its own process group, guarded so that it dies with this worker. The returned
 * child is the group leader: killGroup(child) stops everything it started.
 */
export function spawnGuarded(
  file: string,
  args: string[],
  opts: Pick<SpawnOptions, 'cwd' | 'env'> & { stdin?: boolean } = {},
): ChildProcess {
  const setpriv = os.platform() === 'linux' ? findSetpriv() : null;
  const [cmd, argv] = setpriv
    ? [setpriv, ['--pdeathsig', 'TERM', '--', '/bin/sh', '-c', GUARD, 'rr-guard', String(process.pid), file, ...args]]
    : [file, args];
  // No env given: the basics only, never the worker's whole environment (child-env.ts).
  return spawn(cmd, argv, {
    cwd: opts.cwd,
    env: opts.env ?? baseEnv(process.env),
    stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    detached: true,
  });
}

export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/**
 * Runs a command to its end, its deadline, or the activity's cancellation. On cancellation the group
 * is killed and the promise rejects with the activity's CancelledFailure once the process is gone.
 */
export function runCommand(
  cmd: string | string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs: number; redact?: string[]; signal?: AbortSignal },
): Promise<CommandResult> {
  const cancel = opts.signal ?? cancellation();
  return new Promise((resolve, reject) => {
    if (cancel?.aborted) return reject(cancelledFailure(cancel));
    const [file, args] = typeof cmd === 'string' ? ['/bin/sh', ['-c', cmd]] : [cmd[0], cmd.slice(1)];
    const child = spawnGuarded(file, args, { cwd: opts.cwd, env: opts.env });
    let output = '';
    const take = (b: Buffer) => {
      output = (output + b.toString('utf8')).slice(-TAIL);
    };
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // The whole process group: a shell's children must not outlive the deadline.
      killGroup(child);
    }, opts.timeoutMs);
    const onCancel = () => killGroup(child);
    cancel?.addEventListener('abort', onCancel, { once: true });
    const done = () => {
      clearTimeout(timer);
      cancel?.removeEventListener('abort', onCancel);
    };
    child.on('error', (err) => {
      done();
      resolve({ code: 127, signal: null, output: `${err.message}`, timedOut });
    });
    // On cancellation, 'exit' (the group is dead) is enough: a daemon the command left behind may hold
    // the pipes open, and the operator is waiting.
    child.on('exit', () => {
      if (cancel?.aborted) {
        done();
        reject(cancelledFailure(cancel));
      }
    });
    child.on('close', (code, signal) => {
      done();
      if (cancel?.aborted) return reject(cancelledFailure(cancel));
      resolve({ ...exitOf(code, signal), output: redactText(output, opts.redact ?? []), timedOut });
    });
  });
}

/** The guard shell reports a command killed by signal N as exit 128+N; say it as the signal. */
function exitOf(code: number | null, signal: NodeJS.Signals | null): Pick<CommandResult, 'code' | 'signal'> {
  if (signal || code === null || code <= 128 || !findSetpriv()) return { code, signal };
  const name = Object.entries(os.constants.signals).find(([, n]) => n === code - 128)?.[0] as
    NodeJS.Signals | undefined;
  return name ? { code: null, signal: name } : { code, signal };
}

export function describeFailure(what: string, r: CommandResult): string {
  const how = r.timedOut ? 'timed out' : r.signal ? `was killed by ${r.signal}` : `exited with code ${r.code}`;
  const tail = r.output.trim().split('\n').slice(-5).join(' | ');
  return `${what} ${how}${tail ? `: ${tail}` : ''}`;
}
