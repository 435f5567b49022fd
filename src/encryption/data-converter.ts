/** The data converter of the worker and every client: plain JSON, or sealed with the keys of RR_CODEC_KEYS. */
import type { DataConverter } from '@temporalio/common';
import { AesGcmCodec } from './codec';
import { codecKeysFromEnv } from './keys';

export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

/** undefined when encryption is off (RR_CODEC_KEYS unset): the SDK's default converter. */
export function dataConverterFromEnv(env: NodeJS.ProcessEnv): DataConverter | undefined {
  const keys = codecKeysFromEnv(env);
  if (!keys) return undefined;
  return { payloadCodecs: [new AesGcmCodec(keys)], failureConverterPath: FAILURE_CONVERTER_PATH };
}
