/** The message contract's decoding rules (pure; the pipeline tests cover them end to end). */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import {
  decodeMessage,
  INVALID_MESSAGE_TYPE,
  RAW_BODY_KEPT_CHARS,
  type DecodeOptions,
} from '../../lib/ingest/decode.js';
import { messageIdempotencyKey } from '../../lib/store/ids.js';

const source = { provider: 'mns', queue: 'tasks' };
const opts: DecodeOptions = { maxBodyBytes: 1024, taskTypeProperty: 'taskType' };
const decode = (body: string, o: Partial<DecodeOptions> = {}, properties?: Record<string, string>) =>
  decodeMessage({ id: 'm-1', body, ...(properties ? { properties } : {}) }, source, { ...opts, ...o });

describe('decodeMessage', () => {
  it('maps every envelope field onto the task', () => {
    const d = decode(
      JSON.stringify({
        type: 'a.b:c/d-e_f',
        payload: { x: [1, { y: null }] },
        idempotencyKey: 'k',
        priority: -3,
        maxRetries: 0,
        notBefore: 1_900_000_000_000,
        timeout: '30s',
      }),
    );
    expect(d.rejection).toBeUndefined();
    expect(d.task).toEqual({
      type: 'a.b:c/d-e_f',
      payload: { x: [1, { y: null }] },
      idempotencyKey: 'k',
      priority: -3,
      maxRetries: 0,
      notBefore: new Date(1_900_000_000_000),
      timeoutMs: 30_000,
      source: { ...source, messageId: 'm-1' },
    });
  });

  it('takes the ordering key from the session id, else the envelope, else the orderingKey property; validated', () => {
    const withSession = (body: string, sessionId?: string, properties?: Record<string, string | number>) =>
      decodeMessage(
        { id: 'm-1', body, ...(sessionId ? { sessionId } : {}), ...(properties ? { properties } : {}) },
        source,
        opts,
      );
    expect(withSession('{"type":"t","orderingKey":"env"}', 'session-1').task.orderingKey).toBe('session-1');
    expect(withSession('{"type":"t","orderingKey":"env"}').task.orderingKey).toBe('env');
    expect(withSession('{"x":1}', undefined, { taskType: 't', orderingKey: 42 }).task.orderingKey).toBe('42');
    expect(withSession('{"type":"t"}').task.orderingKey).toBeUndefined();
    const long = withSession(JSON.stringify({ type: 't', orderingKey: 'k'.repeat(129) }));
    expect(long.rejection).toMatchObject({ code: 'SchemaViolation', detail: expect.stringMatching(/^orderingKey:/) });
    const empty = withSession('{"x":1}', undefined, { taskType: 't', orderingKey: '' });
    expect(empty.rejection).toMatchObject({ code: 'SchemaViolation', detail: expect.stringMatching(/^ordering key:/) });
  });

  it('keys a task by the message when the producer gives no key', () => {
    expect(decode('{"type":"t"}').task.idempotencyKey).toBe(messageIdempotencyKey('mns', 'tasks', 'm-1'));
  });

  it('keys a refused message by the message, never by its idempotency key', () => {
    const d = decode(JSON.stringify({ type: 't', idempotencyKey: 'k', priority: 'high' }));
    expect(d.rejection?.code).toBe('SchemaViolation');
    expect(d.task.idempotencyKey).toBe(messageIdempotencyKey('mns', 'tasks', 'm-1'));
    expect(d.task.failedReason).toMatch(/^SchemaViolation: priority: /);
    expect(d.task.type).toBe('t');
  });

  it('refuses unknown envelope members (a misspelt field is not silently ignored)', () => {
    expect(decode('{"type":"t","payLoad":{}}').rejection).toMatchObject({
      code: 'SchemaViolation',
      detail: expect.stringContaining('payLoad'),
    });
  });

  it('refuses $-keys, dotted keys and NUL in keys anywhere, and documents nested too deep', () => {
    expect(decode('{"type":"t","payload":[[{"$gt":1}]]}').rejection).toMatchObject({
      code: 'ForbiddenKey',
      detail: expect.stringContaining('payload[0][0].$gt'),
    });
    expect(decode('{"type":"t","payload":{"a":{"b.c":1}}}').rejection?.code).toBe('ForbiddenKey');
    expect(decode('{"$type":"t"}').rejection?.code).toBe('ForbiddenKey');
    expect(decode('{"type":"t","payload":{"a\\u0000b":1}}').rejection?.code).toBe('ForbiddenKey');
    const deep = `{"type":"t","payload":${'['.repeat(80)}${']'.repeat(80)}}`;
    expect(decode(deep, { maxBodyBytes: 10_000 }).rejection?.code).toBe('PayloadTooDeep');
    expect(decode('{"type":"t","payload":{"text":"$ne and a.b in values are fine"}}').rejection).toBeUndefined();
  });

  it('measures the size in UTF-8 bytes', () => {
    const body = JSON.stringify({ type: 't', payload: 'é'.repeat(600) });
    expect(body.length).toBeLessThan(1024);
    expect(decode(body).rejection?.code).toBe('BodyTooLarge');
  });

  it('takes a bare payload: type from the message property, else the default, else refused', () => {
    expect(decode('{"order":1}', { defaultTaskType: 'fallback' }, { taskType: 'from-prop' }).task).toMatchObject({
      type: 'from-prop',
      payload: { order: 1 },
    });
    expect(decode('"just a string"', { defaultTaskType: 'fallback' }).task).toMatchObject({
      type: 'fallback',
      payload: 'just a string',
    });
    expect(decode('{"order":1}').rejection?.code).toBe('MissingTaskType');
    expect(decode('{"order":1}', {}, { taskType: '$bad' }).rejection?.code).toBe('SchemaViolation');
  });

  it('keeps a refused body whole for the operator; past the limit a prefix, its size and SHA-256', () => {
    const small = decode(`not json ${'x'.repeat(5000)}`, { maxBodyBytes: 100_000 });
    expect(small.rejection?.code).toBe('InvalidJson');
    expect(small.task.type).toBe(INVALID_MESSAGE_TYPE);
    expect(small.task.payload).toEqual({ rawBody: `not json ${'x'.repeat(5000)}`, truncated: false, bodyChars: 5009 });
    const body = `not json ${'x'.repeat(RAW_BODY_KEPT_CHARS)}`;
    const big = decode(body, { maxBodyBytes: 100_000 });
    expect(big.rejection?.code).toBe('BodyTooLarge');
    expect(big.task.payload).toMatchObject({
      truncated: true,
      bodyChars: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
    });
    expect((big.task.payload as { rawBody: string }).rawBody).toHaveLength(RAW_BODY_KEPT_CHARS);
  });

  it('checks known task types only when they are configured', () => {
    expect(decode('{"type":"t"}', { knownTaskTypes: new Set(['t']) }).rejection).toBeUndefined();
    expect(decode('{"type":"u"}', { knownTaskTypes: new Set(['t']) }).rejection?.code).toBe('UnknownTaskType');
  });

  it('accepts ISO instants with an offset and refuses bad times and timeouts', () => {
    expect(decode('{"type":"t","notBefore":"2030-01-01T00:00:00+08:00"}').task.notBefore).toEqual(
      new Date('2029-12-31T16:00:00Z'),
    );
    expect(decode('{"type":"t","notBefore":"tomorrow"}').rejection?.code).toBe('SchemaViolation');
    expect(decode('{"type":"t","timeout":0}').rejection?.code).toBe('SchemaViolation');
    expect(decode('{"type":"t","timeout":"00:05:00"}').task.timeoutMs).toBe(300_000);
  });
});
