/**
 * The Prometheus alert rules and the Grafana dashboard (deploy/): `promtool check rules` accepts the
 * rules, `promtool test rules` runs each rule's unit test against recorded series
 * (deploy/prometheus/alerts.test.yml), and every metric either names is one that
 * docs/operators/observability.md lists as scraped. No server needed; promtool is Debian's `prometheus`
 * package (scripts/test installs it).
 *
 *   RR_NO_STACK=1 npx jest --runInBand test/ops/alerts.test.ts
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO, run } from '../cli/harness';

const DIR = path.join(REPO, 'deploy', 'prometheus');
const read = (p: string) => fs.readFileSync(path.join(REPO, p), 'utf8');

async function promtool(args: string[]) {
  const r = await run('promtool', args, { cwd: DIR }).catch((e: Error) => {
    throw new Error(`promtool is missing (${e.message}): apt-get install -y --no-install-recommends prometheus`);
  });
  return { code: r.code, out: `${r.stdout}${r.stderr}`.trim() };
}

/** The metric names the docs' table lists (the names as scraped). */
function documentedMetrics(): Set<string> {
  const doc = read('docs/operators/observability.md');
  return new Set([...doc.matchAll(/^\| `((?:temporal|reset_runbook)_[a-z_]+)`/gm)].map((m) => m[1]));
}

/** The metric names in a PromQL text: ours (reset_runbook_) and the SDK's (temporal_), histograms by their base name. */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b((?:temporal|reset_runbook)_[a-z_]+)/g)].map((m) =>
    m[1].replace(/_(bucket|sum|count)$/, ''),
  );
}

test('promtool check rules accepts deploy/prometheus/alerts.yml', async () => {
  const r = await promtool(['check', 'rules', 'alerts.yml']);
  expect(r).toEqual({ code: 0, out: expect.stringContaining('SUCCESS: 4 rules found') });
});

test('every alert behaves as its unit test says (promtool test rules alerts.test.yml)', async () => {
  const r = await promtool(['test', 'rules', 'alerts.test.yml']);
  expect(r).toEqual({ code: 0, out: expect.stringContaining('SUCCESS') });
  // Each alert of the rules file has a test.
  const alerts = [...read('deploy/prometheus/alerts.yml').matchAll(/- alert: (\S+)/g)].map((m) => m[1]);
  const tested = new Set([...read('deploy/prometheus/alerts.test.yml').matchAll(/alertname: (\S+)/g)].map((m) => m[1]));
  expect(alerts.filter((a) => !tested.has(a))).toEqual([]);
});

test('the alerts and the dashboard read only metrics the docs list as scraped', () => {
  const known = documentedMetrics();
  expect(known.size).toBeGreaterThan(10);
  const rules = metricsIn(read('deploy/prometheus/alerts.yml'));
  const dashboard = JSON.parse(read('deploy/grafana/reset-runbook.json'));
  const exprs: string[] = [];
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object')
      for (const [k, v] of Object.entries(x)) {
        if ((k === 'expr' || k === 'query') && typeof v === 'string') exprs.push(v);
        else walk(v);
      }
  };
  walk(dashboard);
  expect(exprs.length).toBeGreaterThan(10);
  const used = [...rules, ...exprs.flatMap(metricsIn)];
  expect([...new Set(used.filter((m) => !known.has(m)))]).toEqual([]);
  // The dashboard imports as one: a uid, a title, and a Prometheus data source chosen at import.
  expect(dashboard).toMatchObject({ uid: 'reset-runbook', title: expect.any(String) });
  expect(JSON.stringify(dashboard)).toContain('${datasource}');
});
