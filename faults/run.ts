/**
 * The fault-injection suite: runs fault scenarios against the real stack (Temporal, PostgreSQL, S3,
 * pg_dump, workers as processes SIGKILLed for real) and prints one table of figures.
 *
 *   npm run faults                      quick mode (CI): a representative subset on two suites at once, ~2-3 minutes
 *   npm run faults -- --full            every scenario, 30 chaos runs, the large fixture; writes docs/reliability.md
 *                                       (its figures; the sections written by hand below them are kept)
 *   npm run faults -- --seed 1234       replay the chaos runs' kill moments
 *   npm run faults -- --only chaos      scenarios whose name contains a word (repeatable); with --full,
 *                                       the figures go to a file in the temp folder, not docs/reliability.md
 *   npm run faults -- --full --only restore   the restore's scenarios (faults/scenarios/restore.ts)
 *
 * It lives in faults/, not test/: it is a measuring tool with its own table and document, run on
 * demand or once in CI (test/faults.test.ts), not a set of jest cases; it reuses test/support's
 * fixture. Exit 1 when a figure that must be 0 is not, or a scenario ended other than expected.
 * The stack must be up (scripts/stack up; the same exports as the tests).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readStackEnvVars } from '../test/support/stack-env';
import { ALL_POINTS, QUICK_POINTS, crashAt } from './scenarios/crashes';
import { chaosRun } from './scenarios/chaos';
import { faultScenarios } from './scenarios/catalogue';
import { handWrittenSections, renderMarkdown, renderTable, summarise } from './lib/table';
import { Suite, type Job, type Outcome } from './lib/harness';
import { largeReset } from './scenarios/load';

export interface Options {
  full: boolean;
  seed: number;
  only: string[];
}

function parseArgs(argv: string[]): Options {
  const o: Options = { full: false, seed: Math.floor(Math.random() * 1e6), only: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--full') o.full = true;
    else if (a === '--quick') o.full = false;
    else if (a === '--seed') o.seed = Number(argv[++i]);
    else if (a === '--only') o.only.push(argv[++i]);
    else throw new Error(`unknown argument ${a}: use --full, --seed <n>, --only <word>`);
  }
  if (!Number.isInteger(o.seed)) throw new Error('--seed takes an integer');
  return o;
}

export async function main(argv: string[]): Promise<number> {
  const o = parseArgs(argv);
  Object.assign(process.env, readStackEnvVars());
  const started = Date.now();
  const mode = o.full ? 'full' : 'quick';
  console.log(
    `faults: ${mode} mode, chaos seed ${o.seed} (replay: npm run faults -- ${o.full ? '--full ' : ''}--seed ${o.seed})`,
  );

  const jobs: Job[] = [];
  for (const p of o.full ? ALL_POINTS : QUICK_POINTS)
    jobs.push({ name: `crash at ${p}`, run: (suite) => crashAt(suite, p) });
  for (let i = 0; i < (o.full ? 30 : 5); i++)
    jobs.push({ name: `chaos #${i + 1}`, run: (suite) => chaosRun(suite, o.seed, i) });
  for (const s of faultScenarios(o.full)) jobs.push(s);
  const large = o.full ? [{ name: 'large fixture', run: () => largeReset() }] : [];
  const selected = o.only.length ? jobs.filter((j) => o.only.some((w) => j.name.includes(w))) : jobs;
  const selectedLarge = o.only.length ? large.filter((j) => o.only.some((w) => j.name.includes(w))) : large;

  // Quick mode (CI) runs its scenarios on two suites at once: each has its own target, database, key prefix, task
  // queue, workers and fault proxy, and none of quick mode's faults reaches past its own suite (the server-wide ones,
  // the PostgreSQL and Temporal outages and max_connections, are full mode's), while most of a scenario is waiting
  // (heartbeat timeouts, polls). Full mode keeps one suite: its figures are the document's.
  const lanes = o.full || selected.length < 2 ? 1 : 2;
  const suites = Array.from({ length: lanes }, () => new Suite());
  if (selected.length) {
    const t = Date.now();
    await Promise.all(suites.map((s) => s.start()));
    console.log(
      `  the suite's target, data and two workers ready in ${((Date.now() - t) / 1000).toFixed(0)} s${lanes > 1 ? ` (${lanes} suites, scenarios shared out between them)` : ''}${suites[0].smallDiskDir ? '' : ' (no tmpfs could be mounted: the disk-full scenario will fail)'}`,
    );
  }
  const all: { name: string; run: (suite: Suite) => Promise<Outcome> }[] = [
    ...selected.map((j) => ({ name: j.name, run: (suite: Suite) => j.run(suite) })),
    ...selectedLarge,
  ];
  const interrupted = () => void Promise.all(suites.map((s) => s.close())).finally(() => process.exit(130));
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  // Each suite takes the next scenario when it is free; the table keeps the scenarios' order.
  const outcomes: Outcome[] = new Array(all.length);
  let next = 0;
  await Promise.all(
    suites.map(async (suite, lane) => {
      for (let i = next++; i < all.length; i = next++) {
        const j = all[i];
        const t = Date.now();
        if (lanes === 1) process.stdout.write(`  ${j.name} ... `);
        const out = await j.run(suite);
        outcomes[i] = out;
        const rec = out.recoveryMs.length ? `, recovery ${(Math.max(...out.recoveryMs) / 1000).toFixed(1)} s` : '';
        console.log(
          `${lanes === 1 ? '' : `  [suite ${lane + 1}] ${j.name} ... `}${out.problems.length ? 'FAILED' : 'ok'} (${out.got}, ${((Date.now() - t) / 1000).toFixed(0)} s${rec})`,
        );
        for (const p of out.problems) console.log(`      ${p}`);
      }
    }),
  );

  await Promise.all(suites.map((s) => s.close()));
  const summary = summarise(outcomes);
  console.log('');
  console.log(renderTable(summary));
  const seconds = Math.round((Date.now() - started) / 1000);
  console.log(`\n${outcomes.length} scenarios in ${seconds} s on ${machine()}; chaos seed ${o.seed}`);
  if (o.full) {
    // A partial run (--only) never replaces the document; its figures go beside it, to be added by hand.
    const file = o.only.length
      ? path.join(os.tmpdir(), `reliability-only-${o.only.join('-').replace(/[^A-Za-z0-9.-]+/g, '_')}.md`)
      : path.join(__dirname, '..', 'docs', 'reliability.md');
    const figures = renderMarkdown(summary, outcomes, {
      date: new Date().toISOString(),
      machine: machine(),
      seed: o.seed,
      seconds,
    });
    const kept = o.only.length
      ? ''
      : handWrittenSections(fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined);
    fs.writeFileSync(file, kept ? `${figures}\n${kept}` : figures);
    console.log(
      `written: ${path.relative(process.cwd(), file)}${o.only.length ? ' (a partial run: docs/reliability.md is left as it was)' : ''}`,
    );
  }
  if (!summary.ok) console.log(`faults: FAILED — ${summary.failures.join('; ')}`);
  return summary.ok ? 0 : 1;
}

export function machine(): string {
  const cpus = os.cpus();
  return `${os.hostname()}: ${cpus.length} × ${cpus[0]?.model.trim() ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node ${process.versions.node}`;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(`faults: ${err?.message ?? err}`);
      process.exit(2);
    },
  );
}
