/** Push mode: the SDK calls a handler per message, at most MaxConcurrentCalls at once (the link's credit). */
import type { QueueMessage } from '../provider.js';
import { providerError, toProviderError } from './errors.js';
import type { ServiceBusLinks } from './links.js';
import { ServiceBusHandle, toQueueMessage } from './messages.js';

export interface SubscribeOptions {
  /** Messages handled at once (default: MaxConcurrentCalls). */
  maxConcurrentCalls?: number;
  /** Receive-side failures (connection, lock renewal, settling); the subscription keeps running. */
  onError?: (error: Error) => void;
}

export interface Subscription {
  close(): Promise<void>;
}

/**
 * Calls `handler` for each message. A message the handler did not settle itself is settled with
 * `complete` when the handler returns, and abandoned when it throws.
 */
export function subscribe(
  links: ServiceBusLinks,
  handler: (message: QueueMessage) => Promise<void>,
  complete: (message: QueueMessage) => Promise<void>,
  options: SubscribeOptions = {},
): Subscription {
  const ctx = links.ctx('subscribe');
  links.assertOpen(ctx);
  if (links.settings.requiresSession)
    throw providerError(
      'subscribe() reads a non-session entity; use acceptSession() on session entities',
      ctx,
      'InvalidOperation',
    );
  const receiver = links.createReceiver(undefined);
  const handle = receiver.subscribe(
    {
      processMessage: async (m) => {
        const message = toQueueMessage(m, new ServiceBusHandle(m, receiver, 'entity'));
        // Throwing hands the message back to the SDK, which abandons it and reports to processError.
        await handler(message);
        if (!(message.handle as ServiceBusHandle).settled) await complete(message);
      },
      processError: async (args) => {
        const error = toProviderError(args.error, { ...ctx, operation: `subscribe:${args.errorSource}` });
        links.log.warn('subscription error', { error, source: args.errorSource });
        options.onError?.(error);
      },
    },
    {
      maxConcurrentCalls: options.maxConcurrentCalls ?? links.settings.maxConcurrentCalls,
      autoCompleteMessages: false,
    },
  );
  return {
    close: async () => {
      await handle.close().catch(() => undefined);
      await receiver.close().catch(() => undefined);
    },
  };
}
