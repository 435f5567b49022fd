/**
 * Reading a recorded backup file, wherever it lives. Today a BackupFile's `path` is on the worker's
 * disk (backup.dir); when backups go to S3 (issue 8, part 1) this is the one place that learns to
 * open them there: the restore only ever asks for a stream and a checksum.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import type { Readable } from 'node:stream';
import { ApplicationFailure } from '@temporalio/common';
import type { BackupFile } from '../../workflows/definitions';
import { throwIfCancelled } from './keepalive';

export interface BackupSource {
  /** Where it is, for messages. */
  where: string;
  open(): Readable;
}

export function backupSource(file: BackupFile): BackupSource {
  if (!fs.existsSync(file.path)) {
    throw ApplicationFailure.nonRetryable(`The backup file ${file.path} (database "${file.database}") is not on this worker; nothing was touched.`, 'BackupMissing');
  }
  return { where: file.path, open: () => fs.createReadStream(file.path) };
}

/** SHA-256 and size of the file as it is now, read as a stream (never loaded into memory). */
export async function checksumOf(file: BackupFile, onBytes?: (n: number) => void): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of backupSource(file).open()) {
    throwIfCancelled();
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
    onBytes?.(bytes);
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** Refuses, before anything is touched, a file whose SHA-256 is not the one on record. */
export async function assertChecksum(file: BackupFile, onBytes?: (n: number) => void): Promise<void> {
  const now = await checksumOf(file, onBytes);
  if (now.sha256 !== file.sha256 || now.bytes !== file.bytes) {
    throw ApplicationFailure.nonRetryable(
      `The backup ${file.path} (database "${file.database}") does not match its record: SHA-256 ${now.sha256.slice(0, 16)}… (${now.bytes} bytes), recorded ${file.sha256.slice(0, 16)}… (${file.bytes} bytes). It was changed or damaged; nothing was touched.`,
      'BackupChecksumMismatch',
    );
  }
}
