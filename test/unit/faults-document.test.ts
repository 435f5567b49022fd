/**
 * `npm run faults -- --full` rewrites docs/reliability.md's figures (faults/run.ts). The sections written by hand
 * below them (what a run found, earlier runs) were lost with every full run until it kept them.
 */
import { handWrittenSections } from '../../faults/lib/table';

const figures = [
  '# Reliability in figures',
  '',
  '| fault kind | runs |',
  '',
  '## Scenarios',
  '',
  '| scenario | expected |',
  '| crash at plan.done | completed |',
  '',
];
const byHand = [
  '## Uploads while the reset runs (2026-12-05)',
  '',
  'Found by hand.',
  '',
  '## Earlier runs',
  '',
  '### 2026-11-27',
  '',
];

test('the sections after the scenario table are kept, from their first heading on', () => {
  expect(handWrittenSections([...figures, ...byHand].join('\n'))).toBe(byHand.join('\n'));
});

test('a document with nothing written by hand, or none at all, keeps nothing', () => {
  expect(handWrittenSections(figures.join('\n'))).toBe('');
  expect(handWrittenSections(undefined)).toBe('');
  expect(handWrittenSections('# Reliability in figures\n\nno scenario table\n\n## Something\n')).toBe('');
});
