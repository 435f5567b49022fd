/**
 * The operators' references (docs/operators/targets-file.md, docs/operators/cli.md) are generated from
 * the targets file's schema and the CLI's argument specs by scripts/reference.ts and checked in; this
 * fails when someone changes either and forgets `npm run schema`. No stack needed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CLI_REFERENCE_FILE,
  TARGETS_REFERENCE_FILE,
  cliReference,
  cliVerbPages,
  targetsReference,
} from '../../scripts/reference';
import { COMMANDS } from '../../src/cli/index';

const STALE = 'is stale: run `npm run schema` (or `npx tsx scripts/reference.ts`) and commit docs/operators/';

test.each([
  ['docs/operators/targets-file.md', TARGETS_REFERENCE_FILE, targetsReference],
  ['docs/operators/cli.md', CLI_REFERENCE_FILE, cliReference],
  ...Object.entries(cliVerbPages()).map(
    ([file, text]) => [`docs/operators/${path.basename(file)}`, file, () => text] as [string, string, () => string],
  ),
])('%s is what `npm run schema` generates now', (name, file, generate) => {
  const onDisk = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '(missing)';
  // A plain toBe would print a long diff without saying what to do.
  if (onDisk !== generate()) throw new Error(`${name} ${STALE}`);
});

test('the targets reference lists every field, with its default, by section', () => {
  const text = targetsReference();
  expect(text.split('\n')[0]).toMatch(/^_Generated .*`npm run schema`/);
  expect(text).toContain('## `targets.<name>.backup`');
  expect(text).toMatch(/^\| `targets\.<name>\.backup\.keep` \| number ≥ 1 \| `5` \| Backups kept per database\. \|$/m);
  expect(text).toMatch(
    /^\| `targets\.<name>\.storage\.services\.<service>\.root` \| non-empty string \| required \| Only with `kind: "disk"`\./m,
  );
  expect(text).toContain('## `groups.<group>`');
  expect(text).toContain('## `targets.<name>.schedule`');
});

test('the CLI reference has every command and verb with its usage line, a command with verbs on its own page', () => {
  const text = cliReference();
  const pages = cliVerbPages();
  expect(text.split('\n')[0]).toMatch(/^_Generated .*`npm run schema`/);
  for (const c of COMMANDS) {
    const page = Object.entries(pages).find(([f]) => path.basename(f) === `cli-${c.name}.md`)?.[1];
    if (c.verbs?.length) expect(page).toBeDefined();
    if (page === undefined) {
      expect(text).toContain(`## \`reset-runbook ${c.name}\``);
      continue;
    }
    expect(text).toContain(`[\`${c.name}\`](cli-${c.name}.md)`);
    expect(page).toContain(`# \`reset-runbook ${c.name}\``);
    for (const v of c.verbs ?? []) expect(page).toContain(`## \`reset-runbook ${v.name}\``);
  }
  expect(pages[path.join(path.dirname(CLI_REFERENCE_FILE), 'cli-schedule.md')]).toContain(
    'reset-runbook schedule <verb> [options]',
  );
});
