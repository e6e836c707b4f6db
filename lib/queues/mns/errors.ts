/**
 * Turns what `@alicloud/mns` throws into a QueueProviderError that says which queue and operation,
 * carries the service's error code, and whether a retry can help. The SDK's own message holds the
 * request URL (receipt handles, no secrets); we keep only the service's message text.
 */
import { redactConnectionString } from '../../config/redact.js';
import { QueueProviderError } from '../provider.js';

/** Service codes worth retrying; everything the service answers otherwise is final. */
const transientCodes = new Set([
  'InternalError',
  'InternalServerError',
  'ServiceUnavailable',
  'QpsLimitExceeded',
  'RequestTimeout',
  'TimeExpired',
]);
const authCodes = new Set([
  'SignatureDoesNotMatch',
  'AccessDenied',
  'InvalidAccessKeyId',
  'InvalidSecurityToken',
  'SecurityTokenExpired',
  'MissingAuthorizationHeader',
  'InvalidAuthorizationHeader',
]);

/** The service's error code, when the SDK error came from an `<Error>` reply. */
export function mnsErrorCode(e: unknown): string | undefined {
  if (!(e instanceof Error)) return undefined;
  return /^MNS(\w+?)Error$/.exec(e.name)?.[1];
}

export function isMnsCode(e: unknown, code: string): boolean {
  return mnsErrorCode(e) === code;
}

export function toMnsProviderError(e: unknown, operation: string, queue: string): QueueProviderError {
  if (e instanceof QueueProviderError) return e;
  const err = e instanceof Error ? e : new Error(String(e));
  const code = mnsErrorCode(err);
  if (code) {
    const serviceMessage = /message: (.*)$/s.exec(err.message)?.[1]?.trim() ?? '';
    const hint = authCodes.has(code)
      ? ' (check Aliyun:AccessKeyId and Aliyun:AccessKeySecret, or the STS credentials)'
      : '';
    return new QueueProviderError(
      `MNS ${operation} on queue "${queue}" failed: ${code}${serviceMessage ? ` - ${redactConnectionString(serviceMessage)}` : ''}${hint}`,
      { provider: 'mns', queue, operation, code, transient: transientCodes.has(code) },
      { cause: err },
    );
  }
  // No service reply: connection refused, reset, timeout. Network trouble is worth a retry.
  const netCode = (err as { code?: unknown }).code;
  const c = typeof netCode === 'string' ? netCode : err.name;
  return new QueueProviderError(
    `MNS ${operation} on queue "${queue}" failed before the service answered: ${c} - ${redactConnectionString(err.message.split('\n')[0] ?? '')}`,
    { provider: 'mns', queue, operation, code: c, transient: true },
    { cause: err },
  );
}
