/**
 * The worked example of docs/operators/rails-example.md ("a Rails app whose seeds are `bin/rails db:seed`") is a
 * targets file the worker accepts: the JSON block is taken from the document and given to the loader,
 * so the guide cannot drift from what the code checks. No stack needed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTargetsFile } from '../../src/config/load';

const GUIDE = path.resolve(__dirname, '..', '..', 'docs', 'operators', 'rails-example.md');
const MARKER = '```json example=rails-targets';

/** The fenced block that opens with MARKER, exactly once in the guide. */
export function exampleBlock(markdown: string): string {
  const lines = markdown.split('\n');
  const starts = lines.flatMap((l, i) => (l.trim() === MARKER ? [i] : []));
  if (starts.length !== 1)
    throw new Error(`expected one ${MARKER} block in docs/operators/rails-example.md, found ${starts.length}`);
  const end = lines.findIndex((l, i) => i > starts[0] && l.trim() === '```');
  if (end < 0) throw new Error(`the ${MARKER} block in docs/operators/rails-example.md is not closed`);
  return lines.slice(starts[0] + 1, end).join('\n');
}

/** The variables the example names: what its worker.env would hold. */
const WORKER_ENV = {
  SHOP_DATABASE_URL: 'postgres://shop@db1.internal/shop_production',
  SHOP_QUEUE_DATABASE_URL: 'postgres://shop@db1.internal/shop_production_queue',
};

function load(json: string, env: NodeJS.ProcessEnv = WORKER_ENV) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-docs-example-'));
  const file = path.join(dir, 'targets.json');
  fs.writeFileSync(file, json);
  try {
    return loadTargetsFile(file, env);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('the worked Rails example in docs/operators/rails-example.md is a valid targets file', () => {
  const json = exampleBlock(fs.readFileSync(GUIDE, 'utf8'));
  const loaded = load(json);
  expect(Object.keys(loaded.targets)).toEqual(['shop']);
  const shop = loaded.targets.shop;
  // What the example is there to show: Rails seeds as a command, with the worker's variables mapped in.
  expect(shop.seeds).toMatchObject({ command: ['bin/rails', 'db:seed'], cwd: '/srv/shop/current' });
  expect(shop.seeds && 'command' in shop.seeds ? shop.seeds.env : undefined).toMatchObject({
    RAILS_ENV: 'production',
    DATABASE_URL: '${SHOP_DATABASE_URL}',
  });
  expect(shop.restartIdentity).toBe(false);
  expect(shop.workers?.database).toBe('queue');
  expect(shop.storage?.services.minio).toMatchObject({ endpoint: 'https://minio.internal:9000', forcePathStyle: true });
});

test('the loader does refuse the example when a variable it names is missing (the check is real)', () => {
  const json = exampleBlock(fs.readFileSync(GUIDE, 'utf8'));
  expect(() => load(json, { SHOP_DATABASE_URL: WORKER_ENV.SHOP_DATABASE_URL })).toThrow(
    /extraDatabases\[0\]\.urlEnv: environment variable SHOP_QUEUE_DATABASE_URL is not set/,
  );
});

test('exampleBlock finds exactly one block, and says so otherwise', () => {
  expect(exampleBlock(`text\n${MARKER}\n{"a": 1}\n\`\`\`\nmore`)).toBe('{"a": 1}');
  expect(() => exampleBlock('no example here')).toThrow(/found 0/);
  expect(() => exampleBlock(`${MARKER}\n{}\n\`\`\`\n${MARKER}\n{}\n\`\`\``)).toThrow(/found 2/);
});
