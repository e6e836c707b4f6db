/**
 * The AMQP 1.0 listener: accepts the SDK's connections (SASL ANONYMOUS, plain TCP), and routes each
 * link the client attaches to what serves it: `$cbs` and `<entity>/$management` request/response
 * links, senders into queues and topics, receivers on queues, subscriptions and dead-letter sub-queues.
 */
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import rhea from 'rhea';
import type { Connection, EventContext, Sender, link } from 'rhea';
import { batchMessageFormat, decodeBatch, encodeMessage, ticks, type WireMessage } from './amqp-values.js';
import { covers, handlePutToken, type SasKey } from './cbs.js';
import { DeliveryLink } from './delivery-link.js';
import { PeerError, notFound } from './errors.js';
import { handleManagement } from './management.js';
import type { MessageStore } from './message-store.js';
import { PeerNamespace, checkSendable, sendTo } from './namespace.js';
import { setLocalAttach } from './rhea-internals.js';

const sessionFilter = 'com.microsoft:session-filter';

export interface PeerStats {
  /** Transfers of one message (format 0). */
  singleTransfers: number;
  /** Batched transfers (format 0x80013700) and the messages they carried. */
  batchTransfers: number;
  batchedMessages: number;
}

interface ConnectionState {
  /** put-token audiences accepted on this connection. */
  audiences: Set<string>;
  /** Links replies go to, by link name and by target address (the request's reply-to). */
  replyLinks: Map<string, Sender>;
  deliveryLinks: Map<Sender, { store: MessageStore; link: DeliveryLink }>;
}

export interface ServerOptions {
  namespace: PeerNamespace;
  sas: SasKey;
  maxMessageSizeBytes: number;
}

export interface RunningServer {
  port: number;
  stats: PeerStats;
  /** Cuts every client socket without an AMQP close, as a network failure would. */
  dropConnections(): void;
  stop(): Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { namespace } = options;
  const stats: PeerStats = { singleTransfers: 0, batchTransfers: 0, batchedMessages: 0 };
  const states = new Map<Connection, ConnectionState>();
  const sockets = new Set<Socket>();
  const container = rhea.create_container({ id: 'service-bus-peer' });
  let port = 0;

  const stateOf = (connection: Connection): ConnectionState => {
    let s = states.get(connection);
    if (!s) {
      s = { audiences: new Set(), replyLinks: new Map(), deliveryLinks: new Map() };
      states.set(connection, s);
    }
    return s;
  };
  const resource = (address: string) => `sb://127.0.0.1:${port}/${address}`;
  const authorised = (state: ConnectionState, address: string) => covers(state.audiences, resource(address));

  const dropDeliveryLink = (state: ConnectionState, sender: Sender) => {
    const entry = state.deliveryLinks.get(sender);
    if (!entry) return;
    state.deliveryLinks.delete(sender);
    entry.store.detach(entry.link);
  };
  const dropConnection = (connection: Connection) => {
    const state = states.get(connection);
    if (!state) return;
    for (const sender of [...state.deliveryLinks.keys()]) dropDeliveryLink(state, sender);
    states.delete(connection);
  };

  const reply = (state: ConnectionState, request: WireMessage, response: WireMessage) => {
    const to = typeof request.reply_to === 'string' ? request.reply_to : undefined;
    const link = to === undefined ? undefined : state.replyLinks.get(to);
    if (link?.is_open())
      link.send(encodeMessage({ ...response, to, correlation_id: request.message_id }), undefined, 0);
  };

  // The client's receive links: replies ($cbs, $management) or message deliveries.
  container.on('sender_open', (context: EventContext) => {
    const sender = context.sender!;
    const state = stateOf(context.connection);
    const source = sender.source as { address?: string; filter?: Record<string, unknown> } | undefined;
    const address = source?.address ?? '';
    const managed = PeerNamespace.managedEntity(address);
    if (address === '$cbs' || managed !== undefined) {
      if (managed !== undefined && !namespace.exists(managed)) return refuse(sender, notFound(resource(managed)));
      if (managed !== undefined && !authorised(state, address)) return refuse(sender, unauthorised(address));
      sender.set_source({ address });
      sender.set_target({ address: sender.target?.address ?? sender.name });
      state.replyLinks.set(sender.name, sender);
      if (sender.target?.address) state.replyLinks.set(sender.target.address, sender);
      sender.on('sender_close', () => {
        state.replyLinks.delete(sender.name);
        if (sender.target?.address) state.replyLinks.delete(sender.target.address);
      });
      return;
    }
    const store = namespace.store(address);
    if (!store) return refuse(sender, notFound(resource(address)));
    if (!authorised(state, address)) return refuse(sender, unauthorised(address));

    let sessionId: string | undefined;
    let lockedUntil: Date | undefined;
    const wantsSession = source?.filter !== undefined && sessionFilter in source.filter;
    if (store.settings.requiresSession !== wantsSession) {
      return refuse(
        sender,
        new PeerError(
          'amqp:not-allowed',
          store.settings.requiresSession
            ? `'${address}' requires a session receiver.`
            : `'${address}' is not session-enabled.`,
          400,
        ),
      );
    }
    const link = new DeliveryLink(sender, store, sender.snd_settle_mode === 1, undefined);
    if (wantsSession) {
      const requested = source.filter?.[sessionFilter];
      // Next-available-session requests are answered at once (no long poll): none free means a timeout error.
      const accepted = store.acceptSession(link, typeof requested === 'string' ? requested : undefined);
      if (!accepted) {
        return refuse(
          sender,
          typeof requested === 'string'
            ? new PeerError(
                'com.microsoft:session-cannot-be-locked',
                `The session '${requested}' is locked by another receiver.`,
                410,
              )
            : new PeerError('com.microsoft:timeout', 'No unlocked sessions with messages are available.', 408),
        );
      }
      ({ sessionId, lockedUntil } = accepted);
      link.sessionId = sessionId;
    }
    sender.set_source(sessionId === undefined ? { address } : { address, filter: { [sessionFilter]: sessionId } });
    sender.set_target({ address: sender.target?.address ?? sender.name });
    setLocalAttach(sender, {
      snd_settle_mode: sender.snd_settle_mode,
      rcv_settle_mode: sender.rcv_settle_mode,
      ...(lockedUntil ? { properties: { 'com.microsoft:locked-until-utc': ticks(lockedUntil) } } : {}),
    });
    state.deliveryLinks.set(sender, { store, link });
    sender.on('sender_close', () => dropDeliveryLink(state, sender));
    store.attach(link);
  });

  // The client's send links: requests ($cbs, $management) or messages for a queue or topic.
  container.on('receiver_open', (context: EventContext) => {
    const receiver = context.receiver!;
    const state = stateOf(context.connection);
    const address = receiver.target?.address ?? '';
    const managed = PeerNamespace.managedEntity(address);
    receiver.set_source({ address: receiver.source?.address ?? receiver.name });
    if (address === '$cbs') {
      receiver.set_target({ address });
      receiver.on('message', (c: EventContext) => {
        c.delivery?.accept();
        const request = c.message as unknown as WireMessage;
        const result = handlePutToken(request, options.sas);
        if (result.audience) state.audiences.add(result.audience);
        reply(state, request, result.reply);
      });
      return;
    }
    if (managed !== undefined) {
      if (!namespace.exists(managed)) return refuse(receiver, notFound(resource(managed)));
      if (!authorised(state, address)) return refuse(receiver, unauthorised(address));
      receiver.set_target({ address });
      receiver.on('message', (c: EventContext) => {
        c.delivery?.accept();
        const request = c.message as unknown as WireMessage;
        reply(state, request, handleManagement(namespace, managed, request));
      });
      return;
    }
    const target = namespace.sendTarget(address);
    if (!target) return refuse(receiver, notFound(resource(address)));
    if (!authorised(state, address)) return refuse(receiver, unauthorised(address));
    receiver.set_target({ address });
    setLocalAttach(receiver, { max_message_size: options.maxMessageSizeBytes });
    receiver.on('message', (c: EventContext) => {
      const delivery = c.delivery!;
      try {
        const format = (c as { format?: number }).format ?? 0;
        let messages: WireMessage[];
        if (format === batchMessageFormat) {
          const data = c.message as unknown as Buffer;
          checkSize(data.length, options.maxMessageSizeBytes);
          messages = decodeBatch(data);
          stats.batchTransfers++;
          stats.batchedMessages += messages.length;
        } else {
          const message = c.message as unknown as WireMessage;
          checkSize(encodeMessage(message).length, options.maxMessageSizeBytes);
          messages = [message];
          stats.singleTransfers++;
        }
        for (const m of messages) checkSendable(target, m);
        for (const m of messages) sendTo(target, m);
        delivery.accept();
      } catch (e) {
        const err = e instanceof PeerError ? e : new PeerError('amqp:internal-error', String(e), 500);
        delivery.reject({ condition: err.condition, description: err.message });
      }
    });
  });

  container.on('session_close', (context: EventContext) => {
    const state = states.get(context.connection);
    if (!state) return;
    for (const sender of [...state.deliveryLinks.keys()])
      if (sender.session === context.session) dropDeliveryLink(state, sender);
  });
  container.on('connection_close', (context: EventContext) => dropConnection(context.connection));
  container.on('disconnected', (context: EventContext) => dropConnection(context.connection));
  // Errors the client reports on links and connections are its business; without these rhea would throw.
  for (const event of [
    'error',
    'connection_error',
    'session_error',
    'sender_error',
    'receiver_error',
    'protocol_error',
  ]) {
    container.on(event, () => undefined);
  }

  // Link options for the links rhea creates on the client's attach: we accept transfers ourselves (to be
  // able to reject), and need `modified` (abandon, defer) told apart from `released`.
  const linkDefaults = { autoaccept: false, treat_modified_as_released: false };
  const server = container.listen({ host: '127.0.0.1', port: 0, ...linkDefaults });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;

  return {
    port,
    stats,
    dropConnections: () => {
      for (const connection of [...states.keys()]) dropConnection(connection);
      for (const socket of sockets) socket.destroy();
    },
    stop: async () => {
      for (const connection of [...states.keys()]) {
        dropConnection(connection);
        connection.close();
      }
      // Give clients a moment to answer the close (as Service Bus does) before cutting what is left.
      const deadline = Date.now() + 1_000;
      while (sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      namespace.close();
    },
  };
}

function refuse(l: link, error: PeerError): void {
  // Attach with a null terminus, then detach with the error: how Service Bus refuses a link.
  l.close({ condition: error.condition, description: error.message });
}

function unauthorised(address: string): PeerError {
  return new PeerError(
    'amqp:unauthorized-access',
    `Unauthorized access to '${address}': no valid put-token for it on this connection.`,
    401,
  );
}

function checkSize(bytes: number, max: number): void {
  if (bytes > max)
    throw new PeerError('amqp:link:message-size-exceeded', `The message is ${bytes} bytes; the limit is ${max}.`, 413);
}
