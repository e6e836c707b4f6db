import { BSON } from 'mongodb';

/**
 * Sizes the store keeps of what handlers and workers hand it, in UTF-8 bytes. A task document must stay
 * far below MongoDB's 16 MiB limit however large a handler's error or progress is: a document the server
 * refuses to grow can no longer be failed, reclaimed or cancelled. Applied at the store boundary.
 */
export const storedLimits = {
  /** An error message (each of the last MAX_ERRORS_KEPT errors keeps one). */
  errorMessageBytes: 4 * 1024,
  /** An error's stack. */
  errorStackBytes: 16 * 1024,
  /** A history entry's reason. */
  reasonBytes: 512,
  /** A heartbeat's progress value (BSON size). */
  progressBytes: 64 * 1024,
} as const;

const MARK = ' …[truncated]';

/** `text` cut to at most `maxBytes` UTF-8 bytes (on a character boundary), marked when cut. */
export function boundText(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  const keep = Math.max(0, maxBytes - Buffer.byteLength(MARK));
  // Decoding a cut multi-byte sequence yields U+FFFD; drop it so the kept text is what was given.
  return (
    bytes
      .subarray(0, keep)
      .toString('utf8')
      .replace(/\uFFFD$/, '') + MARK
  );
}

/** A progress value too large to store, as it is stored instead. */
export interface TruncatedProgress {
  truncated: true;
  /** The value's BSON size. */
  bytes: number;
  /** The start of its JSON form. */
  preview: string;
}

/** `progress` as stored: itself when within storedLimits.progressBytes, else a marked preview. */
export function boundProgress(progress: unknown): unknown {
  const bytes = BSON.calculateObjectSize({ progress });
  if (bytes <= storedLimits.progressBytes) return progress;
  let json: string;
  try {
    json = JSON.stringify(progress) ?? String(progress);
  } catch {
    json = String(progress);
  }
  const preview = boundText(json.slice(0, storedLimits.progressBytes), storedLimits.progressBytes / 4);
  return { truncated: true, bytes, preview } satisfies TruncatedProgress;
}
