/**
 * The failure converter used when payloads are encrypted: failure messages and stack traces move
 * into the failure's encoded attributes (a payload, so the codec seals them) instead of staying in
 * clear in history. Loaded by path (DataConverter.failureConverterPath) in the worker, the clients
 * and the workflow bundle; no Node APIs here, the bundle runs it in the workflow sandbox.
 */
import { DefaultFailureConverter } from '@temporalio/common';

/** Found in a workflow bundle built with this converter (the worker checks a prebuilt bundle for it). */
export const ENCODED_FAILURES_MARK = 'reset-runbook:encoded-failure-attributes';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
(failureConverter as unknown as Record<string, string>).mark = ENCODED_FAILURES_MARK;
