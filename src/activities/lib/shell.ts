/**
 * Running the target's own commands (worker stop/start, seeds, schema rebuild) with a deadline,
 * capturing the tail of their output for the error an operator will read.
 */
import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string; // the last few KiB of stdout+stderr
  timedOut: boolean;
}

const TAIL = 4096;

export function runCommand(
  cmd: string | string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs: number; redact?: string[] },
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const [file, args, shell] = typeof cmd === 'string' ? ['/bin/sh', ['-c', cmd], true] : [cmd[0], cmd.slice(1), false];
    void shell;
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    const take = (b: Buffer) => {
      output = (output + b.toString('utf8')).slice(-TAIL);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // The whole process group: a shell's children must not outlive the deadline.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: 127, signal: null, output: `${err.message}`, timedOut });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output: redact(output, opts.redact ?? []), timedOut });
    });
  });
}

/** Commands may print a connection string; it never reaches history. */
export function redact(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('[redacted]');
  return out.replace(/(postgres(?:ql)?:\/\/[^:\s/]+:)[^@\s]+@/g, '$1[redacted]@');
}

export function describeFailure(what: string, r: CommandResult): string {
  const how = r.timedOut ? 'timed out' : r.signal ? `was killed by ${r.signal}` : `exited with code ${r.code}`;
  const tail = r.output.trim().split('\n').slice(-5).join(' | ');
  return `${what} ${how}${tail ? `: ${tail}` : ''}`;
}
