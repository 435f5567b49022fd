/**
 * The targets file's types, derived from its one definition (schema.ts). `TargetConfig` and the
 * section types are the file as loaded, defaults filled in; `TargetsFile` and `TargetConfigInput`
 * are the file as a person writes it (fields with a default may be left out).
 */
import type { TargetsFileInput, TargetsFileOutput } from './schema';

export type TargetsFile = TargetsFileInput;
export type TargetConfigInput = TargetsFileInput['targets'][string];

export type TargetConfig = TargetsFileOutput['targets'][string];
export type WorkersConfig = NonNullable<TargetConfig['workers']>;
export type StorageConfig = NonNullable<TargetConfig['storage']>;
/** One ActiveStorage service of storage.services: S3 or Disk. */
export type StorageServiceConfig = StorageConfig['services'][string];
/** An S3 (or S3-compatible) service: what `kind` means when it is left out. */
export type S3StorageServiceConfig = Extract<StorageServiceConfig, { kind: 's3' }>;
/** An ActiveStorage Disk service (a folder on the worker's host). */
export type DiskStorageServiceConfig = Extract<StorageServiceConfig, { kind: 'disk' }>;
export type QuarantineConfig = NonNullable<StorageConfig['quarantine']>;
export type BackupConfig = TargetConfig['backup'];
export type S3BackupDestination = NonNullable<BackupConfig['destination']>;
export type ExpectedCount = NonNullable<TargetConfig['verify']>['expect'][number];
/** A group of targets (fleet resets, schedules), as an object; load.ts turns a bare list into one. */
export type GroupConfig = Exclude<NonNullable<TargetsFileOutput['groups']>[string], string[]>;
