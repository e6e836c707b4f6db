/**
 * The MNS peer's HTTP front: the service's paths, XML bodies, status codes and error XML for the
 * subset `@alicloud/mns` uses, with the request signature checked against a configured key.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  attributeRanges,
  defaultAttributes,
  invalidArgument,
  messageNotExist,
  PeerError,
  PeerQueue,
  type QueueAttributes,
  type StoredMessage,
} from './queue.js';
import { contentMd5, sign, signaturesEqual } from './signature.js';
import { parseXml, toXml, XmlSyntaxError, type XmlElement, type XmlFields } from './xml.js';

export interface PeerCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  /** When set, every request must carry it in the `security-token` header (STS credentials). */
  securityToken?: string;
}

export interface PeerOptions extends PeerCredentials {
  accountId: string;
  /** Clock (tests); default Date.now. */
  now?: () => number;
}

const MAX_BATCH = 16;
const MAX_REQUEST_BYTES = 1024 * 1024;
const LONG_POLL_STEP_MS = 20;

export class MnsPeerServer {
  readonly queues = new Map<string, PeerQueue>();
  readonly server: Server;
  private readonly now: () => number;

  constructor(private readonly opts: PeerOptions) {
    this.now = opts.now ?? Date.now;
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID().replace(/-/g, '').slice(0, 24).toUpperCase();
    try {
      const body = await readBody(req);
      this.authenticate(req, body);
      const { status, root, content, headers } = await this.route(req, body, res);
      if (res.destroyed) return;
      const xml = root ? toXml(root, content ?? {}) : '';
      res.writeHead(status, {
        'x-mns-request-id': requestId,
        'x-mns-version': '2015-06-06',
        date: new Date(this.now()).toUTCString(),
        ...(xml
          ? { 'content-type': 'text/xml;charset=utf-8', 'content-length': Buffer.byteLength(xml) }
          : { 'content-length': 0 }),
        ...headers,
      });
      res.end(xml);
    } catch (e) {
      if (res.destroyed) return;
      const err =
        e instanceof PeerError
          ? e
          : e instanceof XmlSyntaxError
            ? new PeerError(400, 'MalformedXML', 'The XML you provided was not well-formed.')
            : new PeerError(500, 'InternalError', 'Internal error.');
      const xml = toXml('Error', {
        Code: err.code,
        Message: err.message,
        RequestId: requestId,
        HostId: `http://${this.opts.accountId}.mns.peer.local`,
      });
      res.writeHead(err.status, {
        'x-mns-request-id': requestId,
        'x-mns-version': '2015-06-06',
        'content-type': 'text/xml;charset=utf-8',
        'content-length': Buffer.byteLength(xml),
      });
      res.end(xml);
    }
  }

  private authenticate(req: IncomingMessage, body: Buffer): void {
    const auth = req.headers.authorization;
    if (!auth) throw new PeerError(400, 'MissingAuthorizationHeader', 'Authorization header is required.');
    const m = /^MNS ([^:\s]+):(\S+)$/.exec(auth);
    if (!m) throw new PeerError(400, 'InvalidAuthorizationHeader', 'The Authorization header format is invalid.');
    if (!req.headers.date) throw new PeerError(400, 'MissingDateHeader', 'Date header is required.');
    if (Number.isNaN(Date.parse(req.headers.date)))
      throw new PeerError(400, 'InvalidDateHeader', 'The Date header format is invalid.');
    if (m[1] !== this.opts.accessKeyId)
      throw new PeerError(403, 'InvalidAccessKeyId', 'The AccessKey Id you provided is not exist.');
    const expected = sign(this.opts.accessKeySecret, req.method ?? 'GET', req.headers, req.url ?? '/');
    if (!signaturesEqual(expected, m[2]!)) {
      throw new PeerError(
        403,
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      );
    }
    if (this.opts.securityToken !== undefined && req.headers['security-token'] !== this.opts.securityToken) {
      throw new PeerError(403, 'InvalidSecurityToken', 'The security token you provided is invalid or has expired.');
    }
    const md5 = req.headers['content-md5'];
    if (md5 !== undefined && md5 !== contentMd5(body))
      throw new PeerError(400, 'InvalidDegist', 'The Content-MD5 you specified is invalid.');
  }

  private async route(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<Reply> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = parseQuery(q < 0 ? '' : url.slice(q + 1));
    const parts = path.split('/').filter((s) => s.length > 0);
    const method = req.method ?? 'GET';
    if (
      parts[0] !== 'queues' ||
      parts.length < 2 ||
      parts.length > 3 ||
      (parts.length === 3 && parts[2] !== 'messages')
    ) {
      throw new PeerError(400, 'InvalidRequestURL', 'Http request URL format invalid.');
    }
    const name = decodeURIComponent(parts[1]!);
    if (!/^[A-Za-z][A-Za-z0-9-]{0,255}$/.test(name))
      throw new PeerError(400, 'InvalidQueueName', 'The queue name you provided is invalid.');
    if (parts.length === 2) {
      if (method === 'PUT') return this.putQueue(name, body, query, req);
      if (method === 'GET') return this.getQueue(name);
      if (method === 'DELETE') {
        this.queues.delete(name);
        return { status: 204 };
      }
    } else {
      if (method === 'POST') return this.sendMessages(this.queue(name), body);
      if (method === 'GET') return this.receiveMessages(this.queue(name), query, res);
      if (method === 'DELETE') return this.deleteMessages(this.queue(name), body, query);
      if (method === 'PUT') return this.changeVisibility(this.queue(name), query);
    }
    throw new PeerError(400, 'InvalidRequestURL', 'Http request URL format invalid.');
  }

  private queue(name: string): PeerQueue {
    const q = this.queues.get(name);
    if (!q) throw new PeerError(404, 'QueueNotExist', 'The queue name you provided is not exist.');
    return q;
  }

  private putQueue(name: string, body: Buffer, query: Map<string, string>, req: IncomingMessage): Reply {
    const given = body.length > 0 ? readAttributes(expectRoot(parseXml(body.toString('utf8')), 'Queue')) : {};
    if (query.get('metaoverride') === 'true') {
      const q = this.queue(name);
      q.attributes = { ...q.attributes, ...given };
      q.lastModifyTime = this.now();
      return { status: 204 };
    }
    const attributes = { ...defaultAttributes, ...given };
    const existing = this.queues.get(name);
    if (existing) {
      const same = (Object.keys(attributes) as (keyof QueueAttributes)[]).every(
        (k) => existing.attributes[k] === attributes[k],
      );
      if (!same) throw new PeerError(409, 'QueueAlreadyExist', 'The queue you want to create already exist.');
      return { status: 204 };
    }
    this.queues.set(name, new PeerQueue(name, attributes, this.now()));
    return { status: 201, headers: { location: `http://${req.headers.host ?? '127.0.0.1'}/queues/${name}` } };
  }

  private getQueue(name: string): Reply {
    const q = this.queue(name);
    const c = q.counts(this.now());
    const a = q.attributes;
    return {
      status: 200,
      root: 'Queue',
      content: {
        QueueName: q.name,
        CreateTime: Math.floor(q.createTime / 1000),
        LastModifyTime: Math.floor(q.lastModifyTime / 1000),
        VisibilityTimeout: a.VisibilityTimeout,
        MaximumMessageSize: a.MaximumMessageSize,
        MessageRetentionPeriod: a.MessageRetentionPeriod,
        DelaySeconds: a.DelaySeconds,
        PollingWaitSeconds: a.PollingWaitSeconds,
        ActiveMessages: c.active,
        InactiveMessages: c.inactive,
        DelayMessages: c.delayed,
        LoggingEnabled: a.LoggingEnabled ? 'True' : 'False',
      },
    };
  }

  private sendMessages(q: PeerQueue, body: Buffer): Reply {
    const root = parseXml(body.toString('utf8'));
    const now = this.now();
    if (root.name === 'Message') {
      const [text, opts] = messageParams(root);
      const m = q.send(text, now, opts);
      return { status: 201, root: 'Message', content: { MessageId: m.id, MessageBodyMD5: m.md5 } };
    }
    expectRoot(root, 'Messages');
    const items = root.children.filter((c) => c.name === 'Message');
    if (items.length === 0 || items.length > MAX_BATCH)
      throw invalidArgument(`The count of message should be between 1 and ${MAX_BATCH}.`);
    const params = items.map((item) => messageParams(item)); // all valid, or none sent
    const sent = params.map(([text, opts]) => q.send(text, now, opts));
    return {
      status: 201,
      root: 'Messages',
      content: { Message: sent.map((m) => ({ MessageId: m.id, MessageBodyMD5: m.md5 })) },
    };
  }

  private async receiveMessages(q: PeerQueue, query: Map<string, string>, res: ServerResponse): Promise<Reply> {
    const batch = query.has('numofmessages');
    const n = batch ? intParam(query, 'numofmessages', 1, MAX_BATCH) : 1;
    if (query.get('peekonly') === 'true') {
      const peeked = q.peek(n, this.now());
      if (peeked.length === 0) throw messageNotExist();
      return messagesReply(batch, peeked, false);
    }
    const wait = query.has('waitseconds') ? intParam(query, 'waitseconds', 0, 30) : q.attributes.PollingWaitSeconds;
    const deadline = this.now() + wait * 1000;
    let gone = false;
    res.once('close', () => {
      gone = true;
    });
    for (;;) {
      const got = q.receive(n, this.now());
      if (got.length > 0) return messagesReply(batch, got, true);
      if (this.now() >= deadline || gone || !this.queues.has(q.name)) throw messageNotExist();
      await new Promise((r) => setTimeout(r, LONG_POLL_STEP_MS));
    }
  }

  private deleteMessages(q: PeerQueue, body: Buffer, query: Map<string, string>): Reply {
    const single = query.get('receipthandle');
    if (single !== undefined) {
      q.delete(single, this.now());
      return { status: 204 };
    }
    const root = expectRoot(parseXml(body.toString('utf8')), 'ReceiptHandles');
    const handles = root.children.filter((c) => c.name === 'ReceiptHandle').map((c) => c.text);
    if (handles.length === 0 || handles.length > MAX_BATCH)
      throw invalidArgument(`The count of receipt handle should be between 1 and ${MAX_BATCH}.`);
    const errors: XmlFields[] = [];
    for (const h of handles) {
      try {
        q.delete(h, this.now());
      } catch (e) {
        if (!(e instanceof PeerError)) throw e;
        errors.push({ ErrorCode: e.code, ErrorMessage: e.message, ReceiptHandle: h });
      }
    }
    return errors.length === 0 ? { status: 204 } : { status: 404, root: 'Errors', content: { Error: errors } };
  }

  private changeVisibility(q: PeerQueue, query: Map<string, string>): Reply {
    const handle = query.get('receipthandle');
    if (handle === undefined) throw new PeerError(400, 'MissingReceiptHandle', 'ReceiptHandle is required.');
    if (!query.has('visibilitytimeout'))
      throw new PeerError(400, 'MissingVisibilityTimeout', 'VisibilityTimeout is required.');
    const seconds = intParam(query, 'visibilitytimeout', 1, 43_200);
    const m = q.changeVisibility(handle, seconds, this.now());
    return {
      status: 200,
      root: 'ChangeVisibility',
      content: { ReceiptHandle: m.receiptHandle ?? '', NextVisibleTime: m.nextVisibleTime },
    };
  }
}

interface Reply {
  status: number;
  root?: string;
  content?: XmlFields;
  headers?: Record<string, string>;
}

function messagesReply(batch: boolean, messages: StoredMessage[], received: boolean): Reply {
  const item = (m: StoredMessage): XmlFields => ({
    MessageId: m.id,
    ...(received ? { ReceiptHandle: m.receiptHandle ?? '' } : {}),
    MessageBodyMD5: m.md5,
    MessageBody: m.body,
    EnqueueTime: m.enqueueTime,
    NextVisibleTime: m.nextVisibleTime,
    FirstDequeueTime: m.firstDequeueTime ?? m.enqueueTime,
    DequeueCount: m.dequeueCount,
    Priority: m.priority,
  });
  return batch
    ? { status: 200, root: 'Messages', content: { Message: messages.map(item) } }
    : { status: 200, root: 'Message', content: item(messages[0]!) };
}

function expectRoot(el: XmlElement, name: string): XmlElement {
  if (el.name !== name)
    throw invalidArgument(`The XML you provided did not validate against our published schema, cause by ${el.name}.`);
  return el;
}

function childText(el: XmlElement, name: string): string | undefined {
  return el.children.find((c) => c.name === name)?.text;
}

function ranged(name: string, raw: string, low: number, high: number): number {
  const n = /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isInteger(n) || n < low || n > high)
    throw invalidArgument(`The value of ${name} should between ${low} and ${high}.`);
  return n;
}

function messageParams(el: XmlElement): [string, { delaySeconds?: number; priority?: number }] {
  const body = childText(el, 'MessageBody');
  if (body === undefined)
    throw invalidArgument('The XML you provided did not validate against our published schema, cause by MessageBody.');
  const delay = childText(el, 'DelaySeconds');
  const priority = childText(el, 'Priority');
  return [
    body,
    {
      ...(delay !== undefined ? { delaySeconds: ranged('DelaySeconds', delay, 0, 604_800) } : {}),
      ...(priority !== undefined ? { priority: ranged('Priority', priority, 1, 16) } : {}),
    },
  ];
}

function readAttributes(el: XmlElement): Partial<QueueAttributes> {
  const out: Partial<QueueAttributes> = {};
  for (const [key, [low, high]] of Object.entries(attributeRanges) as [
    keyof typeof attributeRanges,
    [number, number],
  ][]) {
    const v = childText(el, key);
    if (v !== undefined) out[key] = ranged(key, v, low, high);
  }
  const logging = childText(el, 'LoggingEnabled');
  if (logging !== undefined) out.LoggingEnabled = logging.toLowerCase() === 'true';
  return out;
}

/** Query values decoded as a servlet container would: "+" is a space, then %XX. Keys case-insensitive. */
function parseQuery(qs: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of qs.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const k = eq < 0 ? pair : pair.slice(0, eq);
    const v = eq < 0 ? '' : pair.slice(eq + 1);
    try {
      out.set(decodeURIComponent(k.replace(/\+/g, ' ')).toLowerCase(), decodeURIComponent(v.replace(/\+/g, ' ')));
    } catch {
      throw new PeerError(400, 'InvalidQueryString', `Http request URL contains invalid querystring item "${k}".`);
    }
  }
  return out;
}

function intParam(query: Map<string, string>, key: string, low: number, high: number): number {
  return ranged(key, query.get(key) ?? '', low, high);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_REQUEST_BYTES) {
        reject(new PeerError(400, 'InvalidArgument', 'The request body is too large.'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
