import { MongoBulkWriteError } from 'mongodb';

/**
 * A bulk write that failed in the driver, not in the database: no write error, no code, no write concern
 * error. The driver wraps the network error (connection closed mid-reply, reply lost) in a
 * MongoBulkWriteError, which hides it from a check by error name; it is as transient as the error inside,
 * and the write may have applied, so only idempotent bulk writes (ingest's) may be retried on it.
 */
export function isBulkDriverFailure(e: unknown): boolean {
  if (!(e instanceof MongoBulkWriteError)) return false;
  const writeErrors: unknown = e.writeErrors;
  const count = Array.isArray(writeErrors)
    ? writeErrors.length
    : writeErrors && typeof writeErrors === 'object'
      ? Object.keys(writeErrors).length
      : 0;
  const concern: unknown = (e as { err?: unknown }).err;
  return count === 0 && e.code === undefined && concern === undefined;
}
