/**
 * Under load (full mode): the large demo fixture (scripts/demo-db load --scale large: ≥ 1,000,000 rows,
 * ≥ 50,000 objects) reset whole, with one worker crash in its purge; the workers' peak RSS (VmHWM) is
 * the figure to compare with the small fixture's (goal: under 300 MB, flat between the two).
 */
import * as fs from 'node:fs';
import { approveAndFinish } from '../../test/support/drive';
import { Suite, scenario, type Outcome } from '../lib/harness';

export const KIND = 'large fixture, crash in the purge';

export async function largeReset(): Promise<Outcome> {
  const suite = new Suite({ scale: 'large', pageSize: 1000 });
  try {
    await suite.start();
    return await scenario(
      suite,
      KIND,
      'large fixture: whole reset, worker SIGKILLed after the first purge page',
      'completed',
      async (s) => {
        const rows = [...s.before.counts.values()].reduce((a, b) => a + b, 0);
        s.out.scenario += ` (${rows.toLocaleString('en')} rows, ${s.before.objects.size.toLocaleString('en')} objects)`;
        const deaths = suite.deaths.length;
        fs.writeFileSync(suite.crashFile, 'purge.afterFirstPage');
        const h = await s.start();
        const r = await approveAndFinish(h, s.f.dbName);
        s.out.faults = suite.deaths.length - deaths;
        s.check(s.out.faults === 1, 'the worker did not crash in the purge');
        await s.expectCompleted(r);
        await s.measureRecovery(h);
      },
    );
  } finally {
    await suite.close();
  }
}
