/** A target's config as the worker holds it after loading: the schema's defaults filled in. */
import { targetsFileSchema } from '../../src/config/schema';
import type { TargetConfig, TargetConfigInput } from '../../src/config/types';

export function loadedTarget(input: TargetConfigInput): TargetConfig {
  return targetsFileSchema().parse({ targets: { t: input } }).targets.t;
}
