/**
 * The proxy's reading of the wire protocol, the error replies it builds and the rules it accepts, without a
 * server: framing across arbitrary TCP chunking, OP_MSG sections, the legacy OP_QUERY handshake, OP_COMPRESSED,
 * and the label rules of mongod 4.4+.
 */
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BSON, type Document } from 'mongodb';
import {
  FrameReader,
  OP_COMPRESSED,
  OP_MSG,
  WireProtocolError,
  encodeOpMsg,
  encodeOpQuery,
  encodeOpReply,
  parseRequest,
  replyDocument,
  type Frame,
  type RequestInfo,
} from '../support/mongo-fault-proxy/wire.js';
import { errorReply } from '../support/mongo-fault-proxy/server-errors.js';
import { InvalidRuleError, matchesRequest, parseRule } from '../support/mongo-fault-proxy/rules.js';
import { ProxyTargetError, parseTarget } from '../support/mongo-fault-proxy/proxy.js';

/** An OP_MSG with a body and one document sequence, as a driver sends a batched insert. */
function opMsgWithSequence(requestId: number, body: Document, identifier: string, docs: Document[]): Buffer {
  const bodyBytes = BSON.serialize(body);
  const docBytes = Buffer.concat(docs.map((d) => BSON.serialize(d)));
  const id = Buffer.from(`${identifier}\0`);
  const seqSize = Buffer.alloc(4);
  seqSize.writeInt32LE(4 + id.length + docBytes.length);
  const parts = [Buffer.from([0, 0, 0, 0]), Buffer.from([0]), bodyBytes, Buffer.from([1]), seqSize, id, docBytes];
  const payload = Buffer.concat(parts);
  const header = Buffer.alloc(16);
  header.writeInt32LE(16 + payload.length, 0);
  header.writeInt32LE(requestId, 4);
  header.writeInt32LE(0, 8);
  header.writeInt32LE(OP_MSG, 12);
  return Buffer.concat([header, payload]);
}

const frameOf = (bytes: Buffer): Frame => {
  const frames = new FrameReader().push(bytes);
  expect(frames).toHaveLength(1);
  return frames[0]!;
};

const request = (body: Document): RequestInfo => parseRequest(frameOf(encodeOpMsg(7, 0, body)));

describe('framing', () => {
  it('cuts a stream into messages however TCP splits it', () => {
    const messages = [
      encodeOpMsg(1, 0, { ping: 1, $db: 'admin' }),
      encodeOpMsg(2, 0, { find: 'tasks', filter: { big: 'x'.repeat(70_000) }, $db: 'app' }),
      encodeOpQuery(3, 'admin.$cmd', { isMaster: 1 }),
    ];
    const stream = Buffer.concat(messages);
    for (const chunkSize of [1, 3, 7, 1000, 65536, stream.length]) {
      const reader = new FrameReader();
      const frames: Frame[] = [];
      for (let i = 0; i < stream.length; i += chunkSize) frames.push(...reader.push(stream.subarray(i, i + chunkSize)));
      expect(frames.map((f) => f.requestId)).toEqual([1, 2, 3]);
      expect(frames.map((f) => f.bytes.equals(messages[f.requestId - 1]!))).toEqual([true, true, true]);
      expect(reader.pendingBytes).toBe(0);
    }
  });

  it('refuses a length no message can have instead of buffering it', () => {
    const bad = Buffer.alloc(16);
    bad.writeInt32LE(0x7fffffff, 0);
    expect(() => new FrameReader().push(bad)).toThrow(WireProtocolError);
    bad.writeInt32LE(3, 0);
    expect(() => new FrameReader().push(bad)).toThrow(WireProtocolError);
  });
});

describe('reading requests', () => {
  it('reads an OP_MSG command, its database, collection and document sequences without parsing the payload', () => {
    const info = parseRequest(
      frameOf(
        opMsgWithSequence(9, { insert: 'tasks', ordered: true, $db: 'app' }, 'documents', [{ _id: 1 }, { _id: 2 }]),
      ),
    );
    expect(info).toMatchObject({
      command: 'insert',
      database: 'app',
      collection: 'tasks',
      sequences: ['documents'],
      moreToCome: false,
      opaque: false,
    });
    const inline = request({ insert: 'tasks', documents: [{ _id: 1, huge: 'y'.repeat(1000) }], $db: 'app' });
    expect(Buffer.isBuffer((inline.body!.documents as unknown[])[0])).toBe(true);
  });

  it('finds the collection of getMore in its `collection` field and none for a database-level aggregate', () => {
    expect(request({ getMore: BSON.Long.fromNumber(42), collection: 'tasks', $db: 'app' }).collection).toBe('tasks');
    expect(request({ aggregate: 1, pipeline: [{ $currentOp: {} }], $db: 'admin' }).collection).toBeUndefined();
  });

  it('reads the legacy OP_QUERY handshake, unwrapping $query', () => {
    const plain = parseRequest(frameOf(encodeOpQuery(5, 'admin.$cmd', { isMaster: 1, helloOk: true })));
    expect(plain).toMatchObject({ command: 'isMaster', database: 'admin', opaque: false });
    const wrapped = parseRequest(
      frameOf(
        encodeOpQuery(6, 'admin.$cmd', { $query: { ismaster: 1 }, $readPreference: { mode: 'primaryPreferred' } }),
      ),
    );
    expect(wrapped.command).toBe('ismaster');
    expect(parseRequest(frameOf(encodeOpQuery(7, 'app.tasks', { a: 1 }))).opaque).toBe(true);
  });

  it('reads an OP_COMPRESSED (zlib) message for matching', () => {
    const inner = encodeOpMsg(11, 0, { update: 'tasks', updates: [], $db: 'app' });
    const data = deflateSync(inner.subarray(16));
    const header = Buffer.alloc(25);
    header.writeInt32LE(25 + data.length, 0);
    header.writeInt32LE(11, 4);
    header.writeInt32LE(0, 8);
    header.writeInt32LE(OP_COMPRESSED, 12);
    header.writeInt32LE(OP_MSG, 16);
    header.writeInt32LE(inner.length - 16, 20);
    header[24] = 2;
    const info = parseRequest(frameOf(Buffer.concat([header, data])));
    expect(info).toMatchObject({
      command: 'update',
      collection: 'tasks',
      compressed: true,
      opCode: OP_COMPRESSED,
      commandOpCode: OP_MSG,
    });
    header[24] = 1; // snappy: not readable here, forwarded blind
    expect(parseRequest(frameOf(Buffer.concat([header, data]))).opaque).toBe(true);
  });

  it('builds replies the reader reads back', () => {
    expect(replyDocument(frameOf(encodeOpMsg(1, 2, { ok: 1, n: 3 })))).toEqual({ ok: 1, n: 3 });
    expect(replyDocument(frameOf(encodeOpReply(1, 2, { ismaster: true, ok: 1 })))).toEqual({ ismaster: true, ok: 1 });
  });
});

describe('error replies', () => {
  const insertPlain = request({ insert: 'tasks', documents: [{ _id: 1 }], $db: 'app' });
  const insertRetryable = request({
    insert: 'tasks',
    documents: [{ _id: 1 }],
    lsid: { id: new BSON.UUID() },
    txnNumber: BSON.Long.fromNumber(1),
    $db: 'app',
  });
  const insertInTransaction = request({
    insert: 'tasks',
    documents: [],
    lsid: { id: new BSON.UUID() },
    txnNumber: BSON.Long.fromNumber(2),
    autocommit: false,
    $db: 'app',
  });
  const commit = request({
    commitTransaction: 1,
    lsid: { id: new BSON.UUID() },
    txnNumber: BSON.Long.fromNumber(2),
    autocommit: false,
    $db: 'admin',
  });
  const find = request({ find: 'tasks', filter: {}, $db: 'app' });

  it.each([
    [91, 'ShutdownInProgress'],
    [189, 'PrimarySteppedDown'],
    [10107, 'NotWritablePrimary'],
    [11600, 'InterruptedAtShutdown'],
  ])('code %i: ok 0 with codeName %s; labels as mongod 4.4+ adds them', (code, codeName) => {
    expect(errorReply({ code }, insertPlain, 17)).toEqual({ ok: 0, errmsg: expect.any(String), code, codeName });
    expect(errorReply({ code }, find, 17).errorLabels).toBeUndefined();
    expect(errorReply({ code }, insertRetryable, 17).errorLabels).toEqual(['RetryableWriteError']);
    expect(errorReply({ code }, insertInTransaction, 17).errorLabels).toEqual(['TransientTransactionError']);
    expect(errorReply({ code }, commit, 17).errorLabels).toEqual(['RetryableWriteError']);
    // A 4.2 server (wire version 8, what mongo-java-server reports) sends no labels: the driver adds them.
    expect(errorReply({ code }, insertRetryable, 8).errorLabels).toBeUndefined();
  });

  it('16500: a write error on writes, a command error otherwise, RetryAfterMs in errmsg, no labels', () => {
    const write = errorReply({ code: 16500, retryAfterMs: 250 }, insertRetryable, 17);
    expect(write).toMatchObject({ ok: 1, n: 0, writeErrors: [{ index: 0, code: 16500 }] });
    expect(write.errorLabels).toBeUndefined();
    expect((write.writeErrors as { errmsg: string }[])[0]!.errmsg).toMatch(
      /^Error=16500, RetryAfterMs=250, Details='Response status code does not indicate success: TooManyRequests \(429\)/,
    );
    const read = errorReply({ code: 16500, retryAfterMs: 7 }, find, 17);
    expect(read).toMatchObject({ ok: 0, code: 16500, codeName: 'RequestRateTooLarge' });
    expect(read.errmsg).toContain('RetryAfterMs=7,');
    expect(errorReply({ code: 16500, retryAfterMs: null }, find, 17).errmsg).not.toContain('RetryAfterMs');
    expect(errorReply({ code: 16500, shape: 'command' }, insertPlain, 17)).toMatchObject({ ok: 0, code: 16500 });
  });

  it('uses exactly the labels a rule gives', () => {
    expect(errorReply({ code: 91, errorLabels: [] }, insertRetryable, 17).errorLabels).toBeUndefined();
    expect(errorReply({ code: 16500, errorLabels: ['X'] }, find, 17).errorLabels).toEqual(['X']);
  });
});

describe('rules', () => {
  it('refuses malformed rules, naming the field', () => {
    const bad = (rule: unknown) => {
      try {
        parseRule(rule);
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidRuleError);
        return (e as InvalidRuleError).issues.map((i) => i.path);
      }
      throw new Error('accepted');
    };
    expect(bad({ fault: { kind: 'explode' } })).toEqual(['fault.kind']);
    expect(bad({ fault: { kind: 'delayReply', ms: -1 } })).toEqual(['fault.ms']);
    expect(bad({ fault: { kind: 'dropReply' }, probability: 2 })).toEqual(['probability']);
    expect(bad({ fault: { kind: 'error', code: 123 } })).toEqual(['fault.code']);
    expect(bad({ fault: { kind: 'refuseConnection' }, match: { command: 'find' } })).toEqual(['match']);
    expect(bad({ fault: { kind: 'dropReply' }, match: { comand: 'find' } })).toEqual(['match']);
  });

  it('matches by command (any case), collection and database; the handshake only by name', () => {
    const insert = request({ insert: 'tasks', documents: [], $db: 'app' });
    expect(matchesRequest(undefined, insert)).toBe(true);
    expect(matchesRequest({ command: 'INSERT' }, insert)).toBe(true);
    expect(matchesRequest({ command: ['find', 'update'] }, insert)).toBe(false);
    expect(matchesRequest({ collection: 'tasks', database: 'app' }, insert)).toBe(true);
    expect(matchesRequest({ collection: 'other' }, insert)).toBe(false);
    expect(matchesRequest({ database: 'other' }, insert)).toBe(false);
    const hello = request({ hello: 1, $db: 'admin' });
    expect(matchesRequest(undefined, hello)).toBe(false);
    expect(matchesRequest({ database: 'admin' }, hello)).toBe(false);
    expect(matchesRequest({ command: 'hello' }, hello)).toBe(true);
  });
});

describe('target', () => {
  it('keeps the database path, credentials and options; a replica set is reached directly through the proxy', () => {
    expect(parseTarget('127.0.0.1:27018').uriFor('127.0.0.1', 9)).toBe('mongodb://127.0.0.1:9/');
    const t = parseTarget('mongodb://user:p%40ss@db.example:27017/taskmesh?authSource=admin&replicaSet=rs0&w=majority');
    expect({ host: t.host, port: t.port }).toEqual({ host: 'db.example', port: 27017 });
    expect(t.uriFor('127.0.0.1', 9)).toBe(
      'mongodb://user:p%40ss@127.0.0.1:9/taskmesh?authSource=admin&w=majority&directConnection=true',
    );
    expect(parseTarget('mongodb://localhost').port).toBe(27017);
  });

  it('refuses what it cannot front, without echoing credentials', () => {
    expect(() => parseTarget('mongodb+srv://u:secret@cluster.example/db')).toThrow(ProxyTargetError);
    expect(() => parseTarget('mongodb://a:1,b:2/db')).toThrow(/2 hosts/);
    expect(() => parseTarget('mongodb://u:secret@a:1/db?tls=true')).toThrow(/TLS/);
    expect(() => parseTarget('mongodb://u:secret@a:1/db?tls=true')).not.toThrow(/secret/);
  });
});
