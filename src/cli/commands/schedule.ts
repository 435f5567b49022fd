/**
 * `reset-runbook schedule <verb>`: scheduled resets through Temporal's Schedule API (never a cron of
 * our own). Each schedule starts an unattended `resetFleet` (mode execute) of one target or group;
 * before one is made or changed, the same fleet is planned unattended and any target that would need
 * a person refuses it. The verbs: schedule-create.ts, schedule-sync.ts and schedule-manage.ts (the rest).
 */
import { Command } from '../command';
import { UsageError } from '../errors';
import { createVerb } from './schedule-create';
import { deleteVerb, describeVerb, listVerb, pauseVerb, triggerVerb, unpauseVerb } from './schedule-manage';
import { syncVerb } from './schedule-sync';

export const scheduleCommand: Command = {
  name: 'schedule',
  summary:
    'Scheduled, unattended resets (Temporal Schedules): create, list, describe, pause, unpause, trigger, delete, sync.',
  positionals: [],
  options: {},
  verbs: [createVerb, listVerb, describeVerb, pauseVerb, unpauseVerb, triggerVerb, deleteVerb, syncVerb],
  details: 'See: reset-runbook schedule <verb> --help',
  run() {
    throw new UsageError('schedule: missing <verb>');
  },
};
