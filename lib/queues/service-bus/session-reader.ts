/**
 * Sessions (RequiresSession): accepting a session, and `receive()` over a session-enabled entity, which
 * reads one session at a time (FIFO within it) and moves on when the current one goes quiet.
 */
import type { ServiceBusSessionReceiverOptions } from '@azure/service-bus';
import type { QueueMessage, ReceiveOptions } from '../provider.js';
import { serial, sleep } from '../toolkit.js';
import { toProviderError } from './errors.js';
import type { ServiceBusLinks } from './links.js';
import { ServiceBusSession } from './session.js';

export interface SessionAcceptOptions {
  /** A given session; default: the next session with messages that no one holds. */
  sessionId?: string;
  /** Keep trying this long while no session is free (0: one attempt). */
  waitMs?: number;
  /** Stops trying (the attempt under way still finishes). */
  signal?: AbortSignal;
}

/**
 * Accepts a message session. Undefined when none could be had within `waitMs`. Against Azure, accepting
 * the next session long-polls on the broker; that wait is capped at max(waitMs, 1 s), the least a round
 * trip needs.
 */
export async function acceptSession(
  links: ServiceBusLinks,
  options: SessionAcceptOptions = {},
): Promise<ServiceBusSession | undefined> {
  const ctx = links.ctx('acceptSession');
  links.assertOpen(ctx);
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (;;) {
    const receiveOptions: ServiceBusSessionReceiverOptions = {
      receiveMode: 'peekLock',
      maxAutoLockRenewalDurationInMs: links.settings.maxAutoLockRenewalDurationMs,
      skipParsingBodyAsJson: true,
      abortSignal: AbortSignal.timeout(Math.max(deadline - Date.now(), 1000)),
    };
    try {
      const receiver = await links.acceptSessionReceiver(options.sessionId, receiveOptions);
      return new ServiceBusSession(receiver, { queue: links.path, secrets: links.secrets });
    } catch (e) {
      if (!noSessionAvailable(e)) throw toProviderError(e, ctx);
      const left = deadline - Date.now();
      if (left <= 0 || options.signal?.aborted) return undefined;
      await sleep(Math.min(left, 200));
    }
  }
}

/** `receive()` on a session entity: the current session's messages, or the next session's once it is drained. */
export class SessionReader {
  private readonly oneAtATime = serial();
  private current?: ServiceBusSession;

  constructor(private readonly links: ServiceBusLinks) {}

  receive(options: ReceiveOptions): Promise<QueueMessage[]> {
    return this.oneAtATime(async () => {
      const deadline = Date.now() + options.waitMs;
      for (;;) {
        const waitForSession = Math.max(0, deadline - Date.now());
        this.current ??= await acceptSession(this.links, {
          waitMs: waitForSession,
          ...(options.signal ? { signal: options.signal } : {}),
        });
        const session = this.current;
        // A caller that stopped waiting (ReceiveOptions.signal) has its [] already: no new wait for it.
        if (!session || options.signal?.aborted) return [];
        // A session that stays quiet this long is taken as drained, so one session cannot hold up the others.
        const waitMs = Math.max(0, Math.min(deadline - Date.now(), this.links.settings.sessionIdleTimeoutMs));
        const messages = await session.receive({ maxMessages: options.maxMessages, waitMs });
        if (messages.length > 0) return messages;
        // This session is drained: let it go (once its messages are settled) and try the next one.
        this.current = undefined;
        session.closeWhenSettled();
        if (Date.now() >= deadline || options.signal?.aborted) return [];
      }
    });
  }

  close(): Promise<void> | undefined {
    return this.current?.close();
  }
}

/** No session to be had right now: the broker timed out the accept, or the session is held elsewhere. */
function noSessionAvailable(e: unknown): boolean {
  const code = (e as { code?: unknown; name?: unknown }).code;
  return (
    code === 'SessionCannotBeLocked' || code === 'ServiceTimeout' || (e as { name?: unknown }).name === 'AbortError'
  );
}
