/**
 * The CLI's `main` in process, with its output captured: for tests of dispatch, usage errors and exit codes without a
 * server.
 */
import { PassThrough } from 'node:stream';
import { main } from '../../../src/cli/index';

export async function runMain(
  argv: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const code = await main(argv, { stdout, stderr, stdin: new PassThrough(), env }, new AbortController().signal);
  return { code, out, err };
}
