/**
 * The `<entity>/$management` request/response operations the SDK uses: peek, lock renewal, scheduling
 * and cancelling, deferred receive by sequence number, disposition by lock token, and the session
 * operations (renew session lock, get/set state, list sessions).
 */
import rhea from 'rhea';
import {
  encodeMessage,
  decodeMessage,
  lockTokenBytes,
  lockTokenFromUuid,
  longArray,
  longToNumber,
  timestampArray,
  uuid,
  type WireMessage,
} from './amqp-values.js';
import { deliveredMessage } from './delivery-link.js';
import { PeerError, notFound } from './errors.js';
import type { DeadLetterInfo, Disposition } from './message-store.js';
import { checkSendable, sendTo, type PeerNamespace } from './namespace.js';

type Body = Record<string, unknown>;

export function handleManagement(namespace: PeerNamespace, entityPath: string, request: WireMessage): WireMessage {
  const operation = String(request.application_properties?.operation ?? '');
  const body: Body = request.body && typeof request.body === 'object' ? (request.body as Body) : {};
  try {
    const result = dispatch(namespace, entityPath, operation, body);
    if (result === 'no-content') return reply(204, 'No Content');
    return { ...reply(200, 'OK'), body: result };
  } catch (e) {
    const err = e instanceof PeerError ? e : new PeerError('amqp:internal-error', String(e), 500);
    return reply(err.status, err.message, err.condition);
  }
}

function dispatch(namespace: PeerNamespace, entityPath: string, operation: string, body: Body): Body | 'no-content' {
  const store = () => namespace.store(entityPath) ?? fail(notFound(entityPath));
  const sessionId = typeof body['session-id'] === 'string' ? body['session-id'] : undefined;
  switch (operation) {
    case 'com.microsoft:peek-message': {
      const messages = store().peek(
        longToNumber(body['from-sequence-number']),
        Number(body['message-count']),
        sessionId,
      );
      if (messages.length === 0) return 'no-content';
      return { messages: messages.map((m) => ({ message: encodeMessage(deliveredMessage(m, 'peek')) })) };
    }
    case 'com.microsoft:renew-lock': {
      const s = store();
      return { expirations: timestampArray(lockTokens(body).map((t) => s.renewLock(t))) };
    }
    case 'com.microsoft:schedule-message': {
      const target = namespace.sendTarget(entityPath) ?? fail(notFound(entityPath));
      const entries = Array.isArray(body.messages) ? (body.messages as Body[]) : [];
      const sequenceNumbers = entries.map((entry) => {
        const message = decodeMessage(entry.message as Buffer);
        checkSendable(target, message);
        return sendTo(target, message);
      });
      return { 'sequence-numbers': longArray(sequenceNumbers) };
    }
    case 'com.microsoft:cancel-scheduled-message': {
      const target = namespace.sendTarget(entityPath) ?? fail(notFound(entityPath));
      for (const n of sequenceNumbers(body)) {
        if (target.kind === 'queue') target.queue.main.cancelScheduled(n);
        else target.topic.cancelScheduled(n);
      }
      return {};
    }
    case 'com.microsoft:receive-by-sequence-number': {
      const s = store();
      const messages = s.receiveDeferred(sequenceNumbers(body), sessionId);
      const entries = messages.map((m) => ({
        'lock-token': uuid(lockTokenBytes(m.lock!.token)),
        message: encodeMessage(deliveredMessage(m, 'receive')),
      }));
      // receiver-settle-mode 0 is receiveAndDelete: the messages are gone once returned.
      if (Number(body['receiver-settle-mode'] ?? 1) === 0)
        for (const m of messages) s.settle(m.lock!.token, { kind: 'complete' });
      return { messages: entries };
    }
    case 'com.microsoft:update-disposition': {
      const s = store();
      const disposition = toDisposition(body);
      for (const token of lockTokens(body)) s.settle(token, disposition);
      return {};
    }
    case 'com.microsoft:renew-session-lock':
      return { expiration: store().renewSessionLock(required(sessionId, 'session-id')) };
    case 'com.microsoft:get-session-state':
      return { 'session-state': store().sessionState(required(sessionId, 'session-id')) ?? null };
    case 'com.microsoft:set-session-state': {
      const state = body['session-state'];
      store().setSessionState(required(sessionId, 'session-id'), Buffer.isBuffer(state) ? state : undefined);
      return {};
    }
    case 'com.microsoft:get-message-sessions': {
      const skip = Number(body.skip ?? 0);
      const page = store()
        .sessionIds()
        .slice(skip, skip + Number(body.top ?? Number.MAX_SAFE_INTEGER));
      return { skip: rhea.types.wrap_int(skip + page.length), 'sessions-ids': page };
    }
    default:
      throw new PeerError('amqp:not-implemented', `The service-bus peer does not implement '${operation}'.`, 501);
  }
}

function toDisposition(body: Body): Disposition {
  const properties =
    body['properties-to-modify'] && typeof body['properties-to-modify'] === 'object'
      ? (body['properties-to-modify'] as Record<string, unknown>)
      : undefined;
  switch (body['disposition-status']) {
    case 'completed':
      return { kind: 'complete' };
    case 'abandoned':
      return { kind: 'abandon', properties };
    case 'defered': // sic: the SDK's spelling
      return { kind: 'defer', properties };
    case 'suspended': {
      const info: DeadLetterInfo = { properties };
      if (typeof body['deadletter-reason'] === 'string') info.reason = body['deadletter-reason'];
      if (typeof body['deadletter-description'] === 'string') info.description = body['deadletter-description'];
      return { kind: 'deadLetter', info };
    }
    default:
      throw new PeerError(
        'amqp:invalid-field',
        `Unknown disposition-status '${String(body['disposition-status'])}'.`,
        400,
      );
  }
}

function lockTokens(body: Body): string[] {
  const tokens = body['lock-tokens'];
  if (!Array.isArray(tokens)) throw new PeerError('amqp:invalid-field', 'lock-tokens is required.', 400);
  return tokens.map(lockTokenFromUuid);
}

function sequenceNumbers(body: Body): number[] {
  const values = body['sequence-numbers'];
  if (!Array.isArray(values)) throw new PeerError('amqp:invalid-field', 'sequence-numbers is required.', 400);
  return values.map(longToNumber);
}

function required<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new PeerError('amqp:invalid-field', `${name} is required.`, 400);
  return value;
}

function fail(e: PeerError): never {
  throw e;
}

function reply(statusCode: number, statusDescription: string, errorCondition?: string): WireMessage {
  const application_properties: Record<string, unknown> = { statusCode, statusDescription };
  if (errorCondition) application_properties.errorCondition = errorCondition;
  return { application_properties };
}
