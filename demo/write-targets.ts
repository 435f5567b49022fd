/**
 * Prints the demo's targets file for the running stack (used by scripts/demo):
 *   node -r tsx/cjs demo/write-targets.ts <state dir>
 * The file names only the variable DEMO_DATABASE_URL; the URL itself stays in the worker's environment.
 */
import * as path from 'node:path';
import { demoTarget } from './target';

const state = process.argv[2];
if (!state || !process.env.RR_S3_BUCKET || !process.env.RR_S3_ENDPOINT) {
  process.stderr.write(
    'usage: RR_S3_BUCKET=… RR_S3_ENDPOINT=… write-targets.ts <state dir>   (eval "$(scripts/stack env)" first)\n',
  );
  process.exit(2);
}
const demo = demoTarget({
  urlEnv: 'DEMO_DATABASE_URL',
  bucket: process.env.RR_S3_BUCKET,
  endpoint: process.env.RR_S3_ENDPOINT,
  backupDir: path.join(state, 'backups'),
  pidFile: path.join(state, 'solid_queue.pid'),
});
// Editors complete and check the file against the published schema, found relative to the file.
const $schema = path.relative(state, path.resolve(__dirname, '..', 'deploy', 'targets.schema.json'));
process.stdout.write(JSON.stringify({ $schema, targets: { demo } }, null, 2) + '\n');
