/** The purge step's one line (src/workflows/run-lines.ts), as the Web UI's current details and `follow` show it. */
import { purgeDetail } from '../../src/workflows/run-lines';

test('names the untracked variants among the objects deleted: the plan counted blobs only', () => {
  expect(purgeDetail({ deleted: 44, variants: 5, bytes: 2570 })).toBe(
    '44 objects (5 of them untracked variants), 2570 bytes deleted',
  );
});

test('no variants (or a result recorded before they were counted): the line as it was', () => {
  expect(purgeDetail({ deleted: 39, bytes: 2000 })).toBe('39 objects, 2000 bytes deleted');
  expect(purgeDetail({ deleted: 39, variants: 0, bytes: 2000 })).toBe('39 objects, 2000 bytes deleted');
});

test('what an earlier attempt removed and what was missing follow', () => {
  expect(
    purgeDetail({ deleted: 40, variants: 1, bytes: 10, alreadyGone: 2, missing: 1, missingSample: ['s3://b/k'] }),
  ).toBe(
    '40 objects (1 of them untracked variants), 10 bytes deleted; 2 already gone (removed by an earlier attempt); 1 missing before the reset (blob rows without a file), e.g. s3://b/k',
  );
});
