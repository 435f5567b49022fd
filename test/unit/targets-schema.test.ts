/**
 * The published JSON Schema (deploy/targets.schema.json) is generated from src/config/schema.ts and
 * checked in for editors; this fails when someone changes the schema and forgets `npm run schema`.
 * And every example targets file in the repository points at it. No stack needed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SCHEMA_FILE, schemaText } from '../../scripts/schema';

const ROOT = path.resolve(__dirname, '..', '..');

/**
 * The guide's worked example (docs-example.test.ts checks it loads; importing that file would run its tests here too).
 */
const docsExample = (md: string) => /```json example=rails-targets\n([\s\S]*?)\n```/.exec(md)![1];

test('deploy/targets.schema.json is what `npm run schema` generates now', () => {
  const onDisk = fs.readFileSync(SCHEMA_FILE, 'utf8');
  // On failure: run `npm run schema` and commit deploy/targets.schema.json.
  expect(onDisk).toBe(schemaText());
});

test('the schema describes the file: defaults, the new storage and plan fields, unknown fields refused', () => {
  const s = JSON.parse(schemaText());
  const target = s.properties.targets.additionalProperties;
  expect(s.properties.targets.propertyNames.pattern).toBe('^[a-z0-9][a-z0-9_-]{0,62}$');
  expect(s.additionalProperties).toBe(false);
  expect(target.additionalProperties).toBe(false);
  expect(target.required).toEqual(['database', 'backup']);
  expect(target.properties.workers.properties.stopTimeoutSeconds).toMatchObject({
    type: 'number',
    minimum: 1,
    default: 120,
  });
  expect(target.properties.storage.properties.concurrency).toMatchObject({
    type: 'integer',
    minimum: 1,
    maximum: 32,
    default: 4,
  });
  expect(target.properties.storage.properties.sampleSize).toMatchObject({ minimum: 0, maximum: 1000, default: 100 });
  expect(target.properties.plan.properties).toMatchObject({
    exactCounts: { default: false },
    estimateAboveRows: { minimum: 0, default: 100000 },
  });
  const kinds = target.properties.storage.properties.services.additionalProperties.anyOf.map(
    (b: { properties: { kind: { const: string } } }) => b.properties.kind.const,
  );
  expect(kinds).toEqual(['s3', 'disk']);
  expect(target.properties.database.properties.urlEnv.pattern).toBe('^[A-Za-z_][A-Za-z0-9_]*$');
});

test('every example targets file in the repository names the schema by a relative path that resolves', () => {
  const examples: [string, string][] = [
    ['deploy/targets.example.json', fs.readFileSync(path.join(ROOT, 'deploy/targets.example.json'), 'utf8')],
    ['deploy/compose/targets.json', fs.readFileSync(path.join(ROOT, 'deploy/compose/targets.json'), 'utf8')],
    [
      'docs/operators/rails-example.md',
      docsExample(fs.readFileSync(path.join(ROOT, 'docs/operators/rails-example.md'), 'utf8')),
    ],
  ];
  for (const [file, json] of examples) {
    const ref = JSON.parse(json).$schema;
    expect({
      file,
      ref: typeof ref === 'string' && !path.isAbsolute(ref) && path.resolve(ROOT, path.dirname(file), ref),
    }).toEqual({ file, ref: SCHEMA_FILE });
  }
});
