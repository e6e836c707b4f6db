import { createHash, randomUUID } from 'node:crypto';

/** A task's id is derived from its idempotency key, so the _id index itself rejects duplicates. */
export function taskIdFor(idempotencyKey: string): string {
  return createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 24);
}

/** Key for a message from a queue: the same message redelivered maps to the same task. */
export function messageIdempotencyKey(provider: string, queue: string, messageId: string): string {
  return `msg:${provider}:${queue}:${messageId}`;
}

export function newIdempotencyKey(): string {
  return `gen:${randomUUID()}`;
}

export function newLeaseToken(): string {
  return randomUUID();
}
