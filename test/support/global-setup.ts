/**
 * jest globalSetup: puts the local stack's coordinates (`scripts/stack env --json`) into process.env
 * and fails at once, with what to do, when the stack is not up. scripts/test starts the stack first.
 * RR_NO_STACK=1 skips the check (for tests that need no server), and so does a run of only the unit
 * folders (`npx jest test/unit test/cli/unit`): those use fakes and the time-skipping test server.
 */
import { spawnSync } from 'node:child_process';
import { readStackEnvVars, STACK_SCRIPT } from './stack-env';

/** The folders whose tests need no stack. */
const NO_STACK = /^(?:\.\/)?test\/(?:cli\/)?unit(?:\/|$)/;

/** True when jest was given paths and every one is under a no-stack folder. */
export function onlyUnitPaths(patterns: string[], root: string): boolean {
  const rel = patterns.map((p) => (p.startsWith(root) ? p.slice(root.length).replace(/^\//, '') : p));
  return rel.length > 0 && rel.every((p) => NO_STACK.test(p));
}

export default async function globalSetup(globalConfig?: { rootDir: string; testPathPattern?: string }): Promise<void> {
  if (process.env.RR_NO_STACK === '1') return;
  // Called without a config outside jest (test/stack.test.ts runs it by hand): then the stack is checked.
  const patterns = (globalConfig?.testPathPattern ?? '').split('|').filter(Boolean);
  if (globalConfig && onlyUnitPaths(patterns, globalConfig.rootDir)) return;
  const status = spawnSync(STACK_SCRIPT, ['status'], { encoding: 'utf8', env: process.env });
  if (status.status !== 0) {
    const down = (status.stdout || status.stderr || '')
      .split('\n')
      .filter((l) => l && !/: running/.test(l))
      .join('; ');
    throw new Error(
      `the local stack is not up (${down || `scripts/stack status exited ${status.status}`}): ` +
        `run the tests with scripts/test, or start it with scripts/stack up (RR_NO_STACK=1 skips this check)`,
    );
  }
  Object.assign(process.env, readStackEnvVars());
}
