/**
 * What a command gets: its streams, whether to print JSON, a lazily opened Temporal connection,
 * and an AbortSignal that fires on Ctrl-C (commands detach on it; nothing is cancelled).
 */
import * as os from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { GlobalOptions } from './args';
import { connect, Connected, connectionSettings } from './connection';
import { Style, styleFor } from './style';

export interface Io {
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean; columns?: number };
  stdin: Readable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export class Context {
  readonly json: boolean;
  /** Styling for stdout (human output only). */
  readonly style: Style;
  /** Styling for stderr (notes, prompts). */
  readonly errStyle: Style;
  private connected?: Promise<Connected>;
  /** --identity of the command, set before it connects (useIdentity). */
  private identityFlag?: string;

  constructor(
    readonly io: Io,
    readonly global: GlobalOptions,
    readonly signal: AbortSignal,
    readonly now: () => Date = () => new Date(),
  ) {
    this.json = global.json;
    this.style = styleFor(io.stdout, io.env);
    this.errStyle = styleFor(io.stderr, io.env);
  }

  /** Human output on stdout (nothing in --json mode). */
  print(text: string): void {
    if (!this.json) this.io.stdout.write(text.endsWith('\n') ? text : text + '\n');
  }

  /** Notes and progress for a person, on stderr (also in --json mode, where stdout is for the JSON). */
  note(text: string): void {
    this.io.stderr.write(text.endsWith('\n') ? text : text + '\n');
  }

  /** One JSON document (or NDJSON line) on stdout, in --json mode only. */
  emit(value: unknown): void {
    if (this.json) this.io.stdout.write(JSON.stringify(value) + '\n');
  }

  /** True when stdout is a terminal we may redraw. */
  get live(): boolean {
    return !this.json && !!this.io.stdout.isTTY;
  }

  connection(): Promise<Connected> {
    if (!this.connected) {
      const settings = connectionSettings(this.io.env, {
        address: this.global.address,
        namespace: this.global.namespace,
        profile: this.global.profile,
      });
      this.connected = connect(settings, this.identity());
    }
    return this.connected;
  }

  async close(): Promise<void> {
    if (!this.connected) return;
    try {
      const c = await this.connected;
      await c.close();
    } catch {
      // never connected
    }
  }

  /** A command's --identity, before it connects: the client, its signals and the run's input all carry it. */
  useIdentity(flag: string | undefined): void {
    if (flag !== undefined && flag.trim() !== '') this.identityFlag = flag.trim();
  }

  /**
   * This client's Temporal identity: --identity, else TEMPORAL_IDENTITY, else user@host. Asserted by the
   * client, not proved: docs/operators/approvals.md says how to make it mean something.
   */
  identity(): string {
    return this.identityFlag ?? (this.io.env.TEMPORAL_IDENTITY?.trim() || `${this.user()}@${this.host()}`);
  }

  /** Who is acting, recorded in approve/abort signals. */
  operator(): string {
    return `${this.user()}@${this.host()} (reset-runbook CLI)`;
  }

  private host(): string {
    return this.io.env.HOSTNAME ?? os.hostname();
  }

  private user(): string {
    let user = this.io.env.USER ?? this.io.env.LOGNAME;
    if (!user) {
      try {
        user = os.userInfo().username;
      } catch {
        user = 'unknown';
      }
    }
    return user;
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
