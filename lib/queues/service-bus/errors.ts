/** Turns SDK failures into QueueProviderError: the Service Bus code, whether a retry can help, and no secrets. */
import { isServiceBusError } from '@azure/service-bus';
import { redactConnectionString } from '../../config/redact.js';
import { QueueProviderError, type ReceiveOptions } from '../provider.js';
import { errorMessage } from '../../errors/message.js';

export const providerKind = 'service-bus';

// Codes where retrying the same call cannot succeed, whatever the SDK's `retryable` says.
const permanent = new Set([
  'MessageLockLost',
  'SessionLockLost',
  'MessageNotFound',
  'MessagingEntityNotFound',
  'MessagingEntityDisabled',
  'MessageSizeExceeded',
  'SessionCannotBeLocked',
  'UnauthorizedAccess',
]);
const transientCodes = new Set(['ServiceBusy', 'ServiceTimeout', 'ServiceCommunicationProblem', 'QuotaExceeded']);

export interface ErrorContext {
  queue: string;
  operation: string;
  /** Literal secret values to blank out (the SAS key), besides the usual connection-string redaction. */
  secrets: readonly string[];
}

export function scrub(text: string, secrets: readonly string[]): string {
  let out = redactConnectionString(text);
  // Literal replacement only for secret-sized values: a one-letter test key would mangle every word.
  for (const s of secrets) if (s.length >= 8) out = out.split(s).join('***');
  return out;
}

export function toProviderError(err: unknown, ctx: ErrorContext): QueueProviderError {
  if (err instanceof QueueProviderError) return err;
  // The SDK's retry loop rejects with an AggregateError of every attempt's error; the last one says why.
  const attempts = err instanceof AggregateError ? err.errors : undefined;
  const last: unknown = attempts && attempts.length > 0 ? attempts[attempts.length - 1] : err;
  const code = errorCode(last);
  const message = errorMessage(last) + (attempts && attempts.length > 1 ? ` (after ${attempts.length} attempts)` : '');
  const transient = code !== undefined && permanent.has(code) ? false : retryable(last, code);
  return new QueueProviderError(
    `Service Bus ${ctx.operation} on '${ctx.queue}' failed${code ? ` (${code})` : ''}: ${scrub(message, ctx.secrets)}`,
    { provider: providerKind, queue: ctx.queue, operation: ctx.operation, code, transient },
    { cause: err },
  );
}

export function providerError(
  message: string,
  ctx: Omit<ErrorContext, 'secrets'>,
  code: string,
  transient = false,
): QueueProviderError {
  return new QueueProviderError(message, {
    provider: providerKind,
    queue: ctx.queue,
    operation: ctx.operation,
    code,
    transient,
  });
}

/** Runs a call, rethrowing any failure as a QueueProviderError for `operation`. */
export async function guard<T>(ctx: ErrorContext, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toProviderError(e, ctx);
  }
}

function errorCode(err: unknown): string | undefined {
  if (isServiceBusError(err)) return err.code;
  if (err && typeof err === 'object') {
    const { code, statusCode } = err as { code?: unknown; statusCode?: unknown };
    if (typeof code === 'string') return code;
    if (typeof statusCode === 'number') return `HTTP${statusCode}`;
  }
  return undefined;
}

function retryable(err: unknown, code: string | undefined): boolean {
  const flag = err && typeof err === 'object' ? (err as { retryable?: unknown }).retryable : undefined;
  if (typeof flag === 'boolean') return flag;
  if (code !== undefined && transientCodes.has(code)) return true;
  // Socket-level failures (ECONNREFUSED, ETIMEDOUT, ...) and HTTP 5xx/429 from the management endpoint.
  return code !== undefined && (/^E[A-Z]+$/.test(code) || /^HTTP(5\d\d|429|408)$/.test(code));
}

/** A receive's options, checked before they reach the SDK (which would misread them). */
export function checkReceiveOptions(options: ReceiveOptions, ctx: ErrorContext): void {
  if (!Number.isInteger(options.maxMessages) || options.maxMessages < 1) {
    const got = String(options.maxMessages);
    const message = `Service Bus ${ctx.operation}: maxMessages must be a whole number >= 1 (got ${got})`;
    throw providerError(message, ctx, 'InvalidArgument');
  }
  if (!(options.waitMs >= 0)) {
    const message = `Service Bus ${ctx.operation}: waitMs must be >= 0 (got ${String(options.waitMs)})`;
    throw providerError(message, ctx, 'InvalidArgument');
  }
}
