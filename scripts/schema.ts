/**
 * Writes deploy/targets.schema.json from the one definition of the targets file (src/config/schema.ts):
 * `npm run schema`. A unit test (test/unit/targets-schema.test.ts) fails when the checked-in file is stale.
 * It also regenerates the operators' references, docs/operators/targets-file.md and cli.md (scripts/reference.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { targetsJsonSchema } from '../src/config/schema';
import { writeReferences } from './reference';

export const SCHEMA_FILE = path.resolve(__dirname, '..', 'deploy', 'targets.schema.json');

/** The file's exact text: stable key order as zod emits it, two-space indent, final newline. */
export function schemaText(): string {
  return `${JSON.stringify(targetsJsonSchema(), null, 2)}\n`;
}

if (require.main === module) {
  fs.writeFileSync(SCHEMA_FILE, schemaText());
  console.log(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}`);
  for (const f of writeReferences()) console.log(`wrote ${f}`);
}
