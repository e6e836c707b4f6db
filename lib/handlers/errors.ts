/**
 * Thrown by a handler to fail the task for good, whatever attempts remain (a bad request that
 * retrying cannot fix).
 */
export class NonRetryableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetryableError';
  }
}
