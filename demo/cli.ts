/**
 * scripts/demo-db: load the phonefin demo data set, or count what a database holds.
 *
 *   scripts/demo-db load [--database-url URL] [--queue-database-url URL] [--scale small|large|xlarge|N] [--seed S]
 *                        [--bucket B] [--s3-endpoint E] [--prefix P] [--storage-dir DIR]
 *                        [--fresh] [--schema-only] [--no-storage] [--json]
 *   scripts/demo-db counts [--database-url URL] [--queue-database-url URL] [--json]
 *
 * Flags fall back to the environment: DATABASE_URL, QUEUE_DATABASE_URL, RR_S3_BUCKET, RR_S3_ENDPOINT,
 * RR_S3_PREFIX (credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_REGION). Without a database
 * URL but with RR_PG_ADMIN_URL (the stack's), the database is phonefin_production on that server.
 * URLs are never printed with their password. --storage-dir puts the files on ActiveStorage's Disk service
 * (service name "local", layout <k[0..1]>/<k[2..3]>/<key>) instead of a bucket: xlarge (11 M rows, 650,000
 * files) loads in minutes that way, where moto takes about an hour for its uploads.
 */
import * as path from 'path';
import { parseArgs } from 'util';
import { countAll, GenerateReport, load } from './generate';
import { redactUrl } from './lib/db';
import { parseScale, SCALES } from './lib/plan';

export const DEFAULT_DATABASE = 'phonefin_production';
export const DEFAULT_QUEUE_DATABASE = 'phonefin_production_queue';

function fail(msg: string, code = 2): never {
  process.stderr.write(`demo-db: ${msg}\n`);
  process.exit(code);
}

function databaseUrlFrom(flag: string | undefined): string {
  const url = flag ?? process.env.DATABASE_URL;
  if (url) return url;
  const admin = process.env.RR_PG_ADMIN_URL;
  if (admin) {
    const u = new URL(admin);
    u.pathname = `/${DEFAULT_DATABASE}`;
    return u.toString();
  }
  fail('no database: pass --database-url or set DATABASE_URL (or RR_PG_ADMIN_URL: scripts/stack env)');
}

function printReport(r: GenerateReport): void {
  const lines = [
    `database ${r.database}${r.queueDatabase !== r.database ? `, queue database ${r.queueDatabase}` : ''}: scale ${r.scale}, seed ${r.seed}`,
  ];
  lines.push('rows made:');
  for (const [t, n] of Object.entries(r.rows).sort()) lines.push(`  ${t.padEnd(34)} ${String(n).padStart(9)}`);
  lines.push(`  ${'total'.padEnd(34)} ${String(r.totalRows).padStart(9)}`);
  if (r.objects) {
    lines.push(
      r.storageDir
        ? `files written under ${r.storageDir} (Disk service):`
        : `objects put in bucket ${r.bucket}${r.prefix ? ` under ${r.prefix}` : ''}:`,
    );
    const o = r.objects;
    const cat: [string, number][] = [
      ['blob (of a blob row)', o.blob],
      ['tracked variant (of a variant blob row)', o.trackedVariant],
      ['untracked variant (variants/…)', o.untrackedVariant],
      ['orphan (no blob row; a reset keeps it)', o.orphan],
      [`other app (${r.otherAppPrefix}…; never touched)`, o.otherApp],
      ['total', o.total],
    ];
    for (const [k, n] of cat) lines.push(`  ${k.padEnd(42)} ${String(n).padStart(7)}`);
  } else {
    lines.push('objects: none (no bucket given: no ActiveStorage rows either)');
  }
  lines.push(
    `took ${r.seconds.rows.toFixed(1)} s for rows, ${r.seconds.objects.toFixed(1)} s for objects, ${r.seconds.total.toFixed(1)} s in all`,
  );
  process.stdout.write(lines.join('\n') + '\n');
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      'database-url': { type: 'string' },
      'queue-database-url': { type: 'string' },
      scale: { type: 'string' },
      seed: { type: 'string' },
      bucket: { type: 'string' },
      's3-endpoint': { type: 'string' },
      prefix: { type: 'string' },
      'storage-dir': { type: 'string' },
      fresh: { type: 'boolean' },
      'schema-only': { type: 'boolean' },
      'no-storage': { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  const databaseUrl = databaseUrlFrom(values['database-url']);
  const queueDatabaseUrl = values['queue-database-url'] ?? process.env.QUEUE_DATABASE_URL;

  if (command === 'counts') {
    const counts = await countAll(databaseUrl, queueDatabaseUrl);
    if (values.json) process.stdout.write(JSON.stringify(counts, null, 2) + '\n');
    else for (const [t, n] of Object.entries(counts)) process.stdout.write(`${t.padEnd(36)} ${n}\n`);
    return;
  }
  if (command !== 'load') fail(`unknown command ${JSON.stringify(command ?? '')}: use load or counts`);

  const storageDir = values['storage-dir'];
  if (storageDir !== undefined) {
    const clash = (['bucket', 's3-endpoint', 'prefix', 'no-storage'] as const).filter((k) => values[k] !== undefined);
    if (clash.length)
      fail(
        `--storage-dir (the Disk service) cannot go with ${clash.map((k) => `--${k}`).join(', ')}: files go either to a folder or to a bucket`,
      );
    if (!storageDir) fail('--storage-dir: give a folder');
  }
  const bucket = values.bucket ?? process.env.RR_S3_BUCKET;
  const storage = storageDir
    ? { kind: 'disk' as const, root: path.resolve(storageDir) }
    : bucket && !values['no-storage']
      ? {
          bucket,
          endpoint: values['s3-endpoint'] ?? process.env.RR_S3_ENDPOINT,
          prefix: values.prefix ?? process.env.RR_S3_PREFIX,
        }
      : undefined;
  if (parseScale(values.scale) >= SCALES.xlarge && storage && !storageDir)
    process.stderr.write(
      `demo-db: warning: scale ${values.scale} puts ${50 * parseScale(values.scale)} objects in bucket ${bucket}: about an hour on moto; --storage-dir DIR writes them as Disk service files in minutes\n`,
    );
  const log = (line: string) => process.stderr.write(`demo-db: ${line}\n`);
  log(`loading ${redactUrl(databaseUrl)}${queueDatabaseUrl ? ` (queue: ${redactUrl(queueDatabaseUrl)})` : ''}`);
  const report = await load({
    databaseUrl,
    queueDatabaseUrl,
    scale: values.scale,
    seed: values.seed,
    storage,
    fresh: values.fresh,
    schemaOnly: values['schema-only'],
    log,
  });
  if (!report) {
    if (values.json) process.stdout.write(JSON.stringify({ schemaOnly: true }) + '\n');
    return;
  }
  if (values.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else printReport(report);
}

main(process.argv.slice(2)).catch((err: Error) => fail(err.message, 1));
