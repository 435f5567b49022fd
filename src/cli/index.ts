/**
 * reset-runbook: the operator CLI of the production data reset runbook.
 *
 *   reset-runbook plan <target>            reset-runbook follow <run>
 *   reset-runbook start <target>           reset-runbook approve|reject|resume|abort <run>
 *   reset-runbook restore <target> [--run <reset run id>]
 *   reset-runbook drill <target>           (a backup now, proven by a restore into a scratch database)
 *   reset-runbook status <run>             reset-runbook list [target]
 *   reset-runbook audit [target] [--since 30d] [--csv]   (who did what to every run)
 *   reset-runbook fleet plan|start|status|follow|approve|abort <fleet>   (many targets in one run)
 *   reset-runbook schedule <verb> <name>   (create|list|describe|pause|unpause|trigger|delete|sync)
 *   reset-runbook codec-server             (decodes encrypted payloads for the Web UI)
 */
import { ServiceError } from '@temporalio/client';
import { commandHelp, GlobalOptions, parseCommandArgs, pickVerb } from './args';
import { Command } from './command';
import { abortCommand } from './commands/abort';
import { approveCommand } from './commands/approve';
import { auditCommand } from './commands/audit';
import { codecServerCommand } from './commands/codec-server';
import { drillCommand } from './commands/drill';
import { fleetCommand } from './commands/fleet';
import { followCommand } from './commands/follow';
import { listCommand } from './commands/list';
import { planCommand } from './commands/plan';
import { rejectCommand } from './commands/reject';
import { restoreCommand } from './commands/restore';
import { scheduleCommand } from './commands/schedule';
import { resumeCommand } from './commands/resume';
import { startCommand } from './commands/start';
import { statusCommand } from './commands/status';
import { Context, Io } from './context';
import { CliError, UsageError } from './errors';
import { EXIT, EXIT_CODE_HELP, ExitCode } from './exit-codes';
import { closePrompts } from './prompt';

export const COMMANDS: Command[] = [
  planCommand,
  startCommand,
  restoreCommand,
  drillCommand,
  followCommand,
  approveCommand,
  rejectCommand,
  resumeCommand,
  abortCommand,
  statusCommand,
  listCommand,
  auditCommand,
  fleetCommand,
  scheduleCommand,
  codecServerCommand,
];

export function mainHelp(): string {
  const lines = [
    "reset-runbook: a durable runbook that resets a Rails application's production data, on Temporal.",
    '',
    'usage: reset-runbook <command> [arguments] [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`),
    '',
    'Every command takes --json (machine-readable output), --address, --namespace, --profile, -h/--help.',
    'Connection (as the temporal CLI and the worker): TEMPORAL_ADDRESS (localhost:7233), TEMPORAL_NAMESPACE',
    '(default), TEMPORAL_API_KEY, TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH / TEMPORAL_TLS_CLIENT_KEY_PATH /',
    'TEMPORAL_TLS_SERVER_CA_CERT_PATH (or _DATA), TEMPORAL_TLS_SERVER_NAME; or a profile of the TOML file',
    'TEMPORAL_CONFIG_FILE (~/.config/temporalio/temporal.toml) chosen by TEMPORAL_PROFILE or --profile.',
    'Flags win over variables, variables over the profile. Old names TEMPORAL_TLS_CERT/KEY/CA still work.',
    'Encrypted payloads: RR_CODEC_KEYS="<id>:<base64 32 bytes>[,<older id>:<key>...]" (the worker\'s keys).',
    '',
    EXIT_CODE_HELP,
    '',
    'Operator guide: docs/operators/README.md',
  ];
  return lines.join('\n') + '\n';
}

function isUnreachable(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : String(err);
  return (
    (err instanceof ServiceError || err instanceof Error) &&
    /\b14 UNAVAILABLE|ECONNREFUSED|failed to connect|No connection established/i.test(msg)
  );
}

export async function main(argv: string[], io: Io, signal: AbortSignal): Promise<ExitCode> {
  const [name, ...rest] = argv;
  const wantsJson = rest.includes('--json') || name === '--json';
  const fail = (err: CliError): ExitCode => {
    if (wantsJson)
      io.stdout.write(JSON.stringify({ error: err.message, hint: err.hint ?? null, exitCode: err.exitCode }) + '\n');
    io.stderr.write(`reset-runbook: ${err.message}\n${err.hint ? `  ${err.hint}\n` : ''}`);
    return err.exitCode;
  };
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    (name ? io.stdout : io.stderr).write(topic ? commandHelp(topic) : mainHelp());
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === '--version' || name === 'version') {
    // Read at run time rather than imported, so that tsc does not copy package.json into dist/.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    io.stdout.write(`${require('../../package.json').version}\n`);
    return EXIT.ok;
  }
  const named = COMMANDS.find((c) => c.name === name);
  if (!named)
    return fail(
      new UsageError(
        `unknown command "${name}"`,
        `commands: ${COMMANDS.map((c) => c.name).join(', ')}; see: reset-runbook --help`,
      ),
    );

  let command = named;
  let ctx: Context | undefined;
  try {
    const picked = pickVerb(named, rest);
    if (picked) command = picked.verb;
    const parsed = parseCommandArgs(command, picked ? picked.rest : rest);
    if (parsed.global.help) {
      io.stdout.write(commandHelp(command));
      return EXIT.ok;
    }
    ctx = new Context(io, parsed.global as GlobalOptions, signal);
    return await command.run(ctx, parsed);
  } catch (err) {
    if (err instanceof CliError) return fail(err);
    if (isUnreachable(err)) {
      return fail(
        new CliError(
          `lost the Temporal server: ${(err as Error).message}`,
          EXIT.unreachable,
          'check TEMPORAL_ADDRESS and that the server runs',
        ),
      );
    }
    if (io.env.RESET_RUNBOOK_DEBUG) io.stderr.write(`${(err as Error)?.stack ?? err}\n`);
    return fail(new CliError(`${command.name} failed: ${(err as Error)?.message ?? err}`, EXIT.failed));
  } finally {
    closePrompts(io);
    await ctx?.close();
  }
}

/** The process entry: wires stdio, Ctrl-C (detach, never cancel) and the exit code. */
export function run(): void {
  const controller = new AbortController();
  let interrupts = 0;
  process.on('SIGINT', () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    controller.abort();
  });
  const io: Io = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
  main(process.argv.slice(2), io, controller.signal).then(
    (code) => {
      process.exitCode = code;
      // Flush stdout before leaving; a lingering handle (gRPC) must not keep the CLI alive.
      process.stdout.write('', () => setTimeout(() => process.exit(code), 50).unref());
    },
    (err) => {
      process.stderr.write(`reset-runbook: ${err?.message ?? err}\n`);
      process.exit(EXIT.failed);
    },
  );
}

if (require.main === module) run();
