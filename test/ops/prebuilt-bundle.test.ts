/**
 * The worker image prebuilds the workflow bundle, so a worker starts without webpack. No Docker
 * daemon here: the test runs the Dockerfile's own bundle line (into a temp folder standing for
 * /app/dist), starts a worker with the image's RR_WORKFLOW_BUNDLE against the local stack, and
 * checks that its log has no bundler output and that it runs a plan. A worker without the bundle,
 * same log capture, shows the bundler's lines: the check sees them when they are there.
 *
 *   npx jest --runInBand test/ops/prebuilt-bundle.test.ts
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  cli,
  dropTarget,
  Env,
  json,
  makeTarget,
  REPO,
  run,
  stackEnv,
  startWorker,
  Target,
  WorkerProcess,
} from '../cli/harness';
import { BUNDLE_FILES } from '../../src/workflow-bundle';

jest.setTimeout(300_000);

/** What webpack and the SDK's bundler print while bundling at worker start. */
const BUNDLER_LINE =
  /webpack|Workflow bundle created|asset workflow-bundle|modules by path|\[built\]|compiled successfully/;
const bundlerLines = (log: string) => log.split('\n').filter((l) => BUNDLER_LINE.test(l));

const NAME = `bundle${process.pid}`;
const dockerfile = fs.readFileSync(path.join(REPO, 'Dockerfile'), 'utf8');
const [buildStage, runtimeStage] = dockerfile.split(/^FROM .* AS runtime$/m);
let stack: Env;
let target: Target;
let appDir: string;
let imageBundleEnv: string;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  stack = await stackEnv();
  target = await makeTarget(stack, NAME);
  appDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-image-app-'));
  const line = /node --require tsx\/cjs scripts\/build-workflow-bundle\.ts --dir (\S+)/.exec(buildStage);
  if (!line) throw new Error("the Dockerfile's build stage does not run scripts/build-workflow-bundle.ts --dir <dir>");
  const built = await run(
    process.execPath,
    ['--require', 'tsx/cjs', 'scripts/build-workflow-bundle.ts', '--dir', path.join(appDir, line[1])],
    { timeoutMs: 240_000 },
  );
  if (built.code !== 0) throw new Error(`the Dockerfile's bundle line failed:\n${built.stderr}`);
  // The image's RR_WORKFLOW_BUNDLE, with /app standing for the temp folder.
  const env = /^\s*RR_WORKFLOW_BUNDLE=(\S+?)\s*\\?$/m.exec(runtimeStage)?.[1];
  if (!env?.startsWith('/app/')) throw new Error(`the runtime stage sets no RR_WORKFLOW_BUNDLE under /app (${env})`);
  imageBundleEnv = path.join(appDir, env.slice('/app/'.length));
});

afterAll(async () => {
  for (const w of workers) await w.stop();
  await dropTarget(target);
  if (appDir) fs.rmSync(appDir, { recursive: true, force: true });
});

async function worker(env: Env): Promise<WorkerProcess> {
  const w = await startWorker({ ...target.env, ...env });
  workers.push(w);
  return w;
}

test('the Dockerfile builds both bundle variants before pruning dev dependencies, and the runtime stage ships them', () => {
  const run =
    /^RUN npx tsc -p deploy\/tsconfig\.build\.json \\\n && node --require tsx\/cjs scripts\/build-workflow-bundle\.ts --dir dist\/workflow-bundles \\\n && npm prune --omit=dev/m;
  expect(buildStage).toMatch(run);
  expect(buildStage).toMatch(/^COPY scripts\/build-workflow-bundle\.ts \.\/scripts\/$/m);
  expect(runtimeStage).toMatch(/^COPY --from=build --chown=root:root \/app\/dist \.\/dist$/m);
  expect(imageBundleEnv).toBe(path.join(appDir, 'dist', 'workflow-bundles'));
  expect(fs.readdirSync(imageBundleEnv).sort()).toEqual([BUNDLE_FILES.encodedFailures, BUNDLE_FILES.plain].sort());
});

test('a worker given the prebuilt bundle logs no bundler output and runs a plan', async () => {
  const queue = `rr-bundle-${process.pid}`;
  const w = await worker({ RR_WORKFLOW_BUNDLE: imageBundleEnv, RR_TASK_QUEUE: queue });
  expect(w.log()).toContain(`workflows from the prebuilt bundle ${path.join(imageBundleEnv, BUNDLE_FILES.plain)}`);
  const r = await cli(['plan', NAME, '--json'], { ...target.env, RR_TASK_QUEUE: queue });
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
  expect(json(r)).toMatchObject({ target: NAME, status: 'COMPLETED', outcome: 'planned' });
  expect(bundlerLines(w.log())).toEqual([]);
});

test('with RR_CODEC_KEYS the worker takes the encoding variant from the same folder, again without bundling', async () => {
  const w = await worker({
    RR_WORKFLOW_BUNDLE: imageBundleEnv,
    RR_TASK_QUEUE: `rr-bundle-enc-${process.pid}`,
    RR_CODEC_KEYS: `k1:${randomBytes(32).toString('base64')}`,
  });
  expect(w.log()).toContain(
    `workflows from the prebuilt bundle ${path.join(imageBundleEnv, BUNDLE_FILES.encodedFailures)}`,
  );
  expect(bundlerLines(w.log())).toEqual([]);
});

test('without a bundle the worker bundles at start, and the log shows it (what the checks above look for)', async () => {
  const w = await worker({ RR_WORKFLOW_BUNDLE: '', RR_TASK_QUEUE: `rr-bundle-none-${process.pid}` });
  expect(w.log()).toContain('workflows bundled at start');
  expect(bundlerLines(w.log()).length).toBeGreaterThan(0);
});

test('a bundle folder without the variant the keys need is refused at start, naming the file', async () => {
  const half = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-half-bundle-'));
  fs.copyFileSync(path.join(imageBundleEnv, BUNDLE_FILES.plain), path.join(half, BUNDLE_FILES.plain));
  try {
    const r = await run(process.execPath, ['--require', 'tsx/cjs', 'src/worker.ts'], {
      env: { ...target.env, RR_WORKFLOW_BUNDLE: half, RR_CODEC_KEYS: `k1:${randomBytes(32).toString('base64')}` },
    });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      `RR_WORKFLOW_BUNDLE=${half}: cannot read ${path.join(half, BUNDLE_FILES.encodedFailures)} (ENOENT); build it with scripts/build-workflow-bundle.ts --dir ${half}`,
    );
  } finally {
    fs.rmSync(half, { recursive: true, force: true });
  }
});
