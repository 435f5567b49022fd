/**
 * Where the Temporal server is: the standard settings (TEMPORAL_* variables, the TOML profile of
 * TEMPORAL_CONFIG_FILE / TEMPORAL_PROFILE), resolved by src/temporal-connection.ts exactly as the
 * worker resolves them. Flags --address, --namespace and --profile win.
 * RR_CODEC_KEYS (as for the worker): payloads this CLI writes are encrypted and those it reads decrypted.
 */
import { Client, Connection, ConnectionOptions } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { dataConverterFromEnv } from '../encryption/data-converter';
import { EncryptionConfigError } from '../encryption/keys';
import {
  resolveTemporalSettings,
  TemporalFlags,
  TemporalSettings,
  TemporalSettingsError,
} from '../temporal-connection';
import { TracingConfigError, tracesUrl } from '../observability/traces-url';
import { CliError } from './errors';
import { EXIT } from './exit-codes';

export interface ConnectionSettings extends TemporalSettings {
  /** The encrypting data converter, when RR_CODEC_KEYS is set. */
  dataConverter?: DataConverter;
  /** OTEL_EXPORTER_OTLP_ENDPOINT is set: this command's starts and signals are traced (src/observability/tracing.ts). */
  traced?: boolean;
}

export function connectionSettings(env: NodeJS.ProcessEnv, flags: TemporalFlags = {}): ConnectionSettings {
  let settings: TemporalSettings;
  let dataConverter: DataConverter | undefined;
  let traced: boolean;
  try {
    settings = resolveTemporalSettings(env, flags);
    dataConverter = dataConverterFromEnv(env);
    traced = tracesUrl(env) !== undefined;
  } catch (err) {
    if (
      err instanceof TemporalSettingsError ||
      err instanceof EncryptionConfigError ||
      err instanceof TracingConfigError
    )
      throw new CliError(err.message, EXIT.usage);
    throw err;
  }
  return { ...settings, dataConverter, ...(traced ? { traced } : {}) };
}

export interface Connected {
  client: Client;
  connection: Connection;
  settings: ConnectionSettings;
  close(): Promise<void>;
}

/** `identity`: what the server records as the sender of this client's starts and signals. */
export async function connect(settings: ConnectionSettings, identity?: string): Promise<Connected> {
  const options: ConnectionOptions = { address: settings.address, connectTimeout: '5s' };
  if (settings.tls !== undefined) options.tls = settings.tls;
  if (settings.apiKey) options.apiKey = settings.apiKey;
  if (settings.metadata) options.metadata = settings.metadata;
  let connection: Connection;
  try {
    connection = await Connection.connect(options);
  } catch (err) {
    throw new CliError(
      `cannot reach Temporal at ${settings.address} (${settings.describe}${settings.profile ? `; ${settings.profile}` : ''}): ${(err as Error).message}`,
      EXIT.unreachable,
      'set TEMPORAL_ADDRESS (and TEMPORAL_TLS_* / TEMPORAL_API_KEY for a secured server) or TEMPORAL_PROFILE, or pass --address / --profile',
    );
  }
  // Loaded only when on: the OpenTelemetry SDK costs every command's start otherwise.
  const tracing = settings.traced ? clientTracing() : undefined;
  const client = new Client({
    connection,
    namespace: settings.namespace,
    ...(identity ? { identity } : {}),
    ...(settings.dataConverter ? { dataConverter: settings.dataConverter } : {}),
    ...(tracing ? { interceptors: { workflow: [tracing.interceptor] } } : {}),
  });
  try {
    await client.workflowService.describeNamespace({ namespace: settings.namespace });
  } catch (err) {
    await connection.close().catch(() => undefined);
    const msg = (err as Error).message;
    if (/not found/i.test(msg)) {
      throw new CliError(
        `namespace "${settings.namespace}" does not exist on ${settings.address}`,
        EXIT.unreachable,
        'set TEMPORAL_NAMESPACE or pass --namespace',
      );
    }
    throw new CliError(
      `Temporal at ${settings.address} refused namespace "${settings.namespace}": ${msg}`,
      EXIT.unreachable,
    );
  }
  const close = async () => {
    await connection.close();
    // The command's spans are batched: send them before the process exits.
    await tracing?.shutdown().catch(() => undefined);
  };
  return { client, connection, settings, close };
}

function clientTracing() {
  // require, not import(): tsx runs the CLI from source as CommonJS, where import() cannot load a .ts file.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { tracingFromEnv } = require('../observability/tracing') as typeof import('../observability/tracing');
  const { OpenTelemetryWorkflowClientInterceptor } =
    require('@temporalio/interceptors-opentelemetry') as typeof import('@temporalio/interceptors-opentelemetry');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const tracing = tracingFromEnv(process.env, 'reset-runbook-cli');
  return {
    interceptor: new OpenTelemetryWorkflowClientInterceptor({ tracer: tracing.tracer }),
    shutdown: tracing.shutdown,
  };
}
