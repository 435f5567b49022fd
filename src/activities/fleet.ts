/**
 * The fleet's one question to the worker: which targets a fleet resets. A group lives in the
 * worker's targets file (as the targets do), so the workflow asks here rather than reading the file.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from './lib/target';

export interface FleetTargetsRequest {
  targets?: string[];
  group?: string;
}

export interface FleetTargets {
  targets: string[];
  /** The group's own limits and schedule, when the fleet was given a group. */
  group?: {
    name: string;
    maxConcurrent?: number | string;
    maxFailures?: number | string;
    batches?: (number | string)[];
  };
}

export function createFleetActivities(deps: ActivityDeps) {
  return {
    async fleetTargets(req: FleetTargetsRequest): Promise<FleetTargets> {
      const known = deps.targets.targets;
      const where = `the worker's targets file ${deps.targets.file}`;
      if (req.group !== undefined) {
        const g = deps.targets.groups?.[req.group];
        if (!g) {
          const groups = Object.keys(deps.targets.groups ?? {}).join(', ') || '(none)';
          // A target's name given where a group belongs is a fleet of that one target (schedules name either).
          if (known[req.group]) return { targets: [req.group] };
          throw ApplicationFailure.nonRetryable(
            `Unknown group "${req.group}". Groups in ${where}: ${groups}.`,
            'UnknownGroup',
          );
        }
        const { targets, maxConcurrent, maxFailures, batches } = g;
        return { targets, group: { name: req.group, maxConcurrent, maxFailures, batches } };
      }
      const unknown = (req.targets ?? []).filter((t) => !known[t]);
      if (unknown.length) {
        throw ApplicationFailure.nonRetryable(
          `Unknown target(s) ${unknown.map((t) => `"${t}"`).join(', ')}. ${where} has: ${Object.keys(known).join(', ')}.`,
          'UnknownTarget',
        );
      }
      return { targets: req.targets ?? [] };
    },
  };
}
