/** Small helpers the providers share: fitting a value into a service's limits, and waiting. */

/** `n` bounded to [min, max] (a service's limits on counts, sizes, seconds). */
export function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, n));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits for `p` at most `ms`; true when it settled in time. The timer does not keep the process alive. */
export async function within(p: Promise<unknown> | undefined, ms: number): Promise<boolean> {
  if (!p) return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs calls one after another (e.g. an SDK receiver that takes one receive at a time). */
export function serial(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

/**
 * A pause that ends early when `signal` aborts (resolves either way; the caller looks at the signal).
 * `register` lets a provider end it for its own reasons too (e.g. a send through the same provider).
 */
export function pauseUnlessAborted(
  ms: number,
  signal: AbortSignal | undefined,
  register?: (end: () => void) => () => void,
): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const end = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', end);
      unregister?.();
      resolve();
    };
    const timer = setTimeout(end, ms);
    signal?.addEventListener('abort', end, { once: true });
    const unregister = register?.(end);
  });
}

/**
 * A receive whose caller may stop waiting (ReceiveOptions.signal) over a request that cannot itself be
 * cut short: the caller gets `received`'s messages, or [] as soon as `signal` aborts. Messages the
 * request brings after the caller has its [] are handed to `late` (which gives them back, or keeps them
 * for the next receive), so none is dropped; a late failure is only passed to `lateError`.
 */
export function receiveUnlessAborted<T>(
  received: Promise<T[]>,
  signal: AbortSignal | undefined,
  late: (messages: T[]) => void,
  lateError: (e: unknown) => void,
): Promise<T[]> {
  if (!signal) return received;
  return new Promise<T[]>((resolve, reject) => {
    let answered = false;
    const onAbort = () => {
      answered = true;
      resolve([]);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    received.then(
      (messages) => {
        signal.removeEventListener('abort', onAbort);
        if (!answered) {
          answered = true;
          resolve(messages);
        } else if (messages.length > 0) late(messages);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (!answered) {
          answered = true;
          reject(e instanceof Error ? e : new Error(String(e)));
        } else lateError(e);
      },
    );
  });
}
