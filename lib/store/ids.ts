import { createHash, randomBytes, randomUUID } from 'node:crypto';

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

/** One logical lease write (every try of it carries the same id); 72 random bits, unique within a task's history. */
export function newWriteId(): string {
  return randomBytes(9).toString('base64url');
}
