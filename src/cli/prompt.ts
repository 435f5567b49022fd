/**
 * Asking an operator for a line of input: the prompt goes to stderr (stdout stays clean for --json),
 * the answer comes from stdin, typed or piped. One reader per stdin, so piped lines are not lost
 * between two questions.
 */
import { createInterface, Interface } from 'node:readline';
import { Io } from './context';

const readers = new WeakMap<object, LineReader>();

class LineReader {
  private lines: string[] = [];
  private waiting?: (line: string | undefined) => void;
  private ended = false;
  private rl: Interface;

  constructor(private readonly io: Io) {
    this.rl = createInterface({ input: io.stdin, terminal: false });
    this.rl.on('line', (line) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w(line);
      } else this.lines.push(line);
    });
    this.rl.on('close', () => {
      this.ended = true;
      this.waiting?.(undefined);
      this.waiting = undefined;
    });
  }

  next(signal?: AbortSignal): Promise<string | undefined> {
    if (this.lines.length) return Promise.resolve(this.lines.shift());
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const onAbort = () => {
        this.waiting = undefined;
        resolve(undefined);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting = (line) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(line);
      };
    });
  }

  close(): void {
    this.rl.close();
    // A paused stdin must not keep the process alive.
    this.io.stdin.pause?.();
    (this.io.stdin as { unref?: () => void }).unref?.();
  }
}

/** Resolves to the line typed (trimmed), or undefined on end of input or Ctrl-C. */
export async function ask(io: Io, question: string, signal?: AbortSignal): Promise<string | undefined> {
  let reader = readers.get(io.stdin);
  if (!reader) {
    reader = new LineReader(io);
    readers.set(io.stdin, reader);
  }
  io.stderr.write(question);
  const line = await reader.next(signal);
  if (line === undefined) io.stderr.write('\n');
  return line?.trim();
}

export function closePrompts(io: Io): void {
  readers.get(io.stdin)?.close();
  readers.delete(io.stdin);
}
