/** Ingest could not store a batch (after its retries). The messages must be redelivered, not dead-lettered. */
export class IngestStoreError extends Error {
  constructor(
    message: string,
    readonly details: { transient: boolean; queue: string; messages: number },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'IngestStoreError';
  }
}
