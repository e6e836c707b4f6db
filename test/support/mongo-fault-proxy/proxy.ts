/**
 * A TCP proxy between the MongoDB driver and a server that injects faults by rule: delays, lost replies, replies
 * cut mid-message, refused connections and error answers (see rules.ts). Every client connection gets its own
 * server connection; messages are read whole (wire.ts) so rules match commands, never byte offsets, and are
 * forwarded byte for byte.
 */
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';
import { randomInt } from 'node:crypto';
import type { Document } from 'mongodb';
import {
  ActiveRule,
  FAULT_KINDS,
  isHandshake,
  matchesRequest,
  parseRule,
  seededRandom,
  type Fault,
  type FaultKind,
  type FaultRule,
  type ParsedRule,
  type RuleCounters,
} from './rules.js';
import { errorReply } from './server-errors.js';
import {
  FrameReader,
  OP_COMPRESSED,
  OP_MSG,
  OP_QUERY,
  encodeOpMsg,
  encodeOpReply,
  parseRequest,
  replyDocument,
  replyMoreToCome,
  type Frame,
  type RequestInfo,
} from './wire.js';

export interface FaultProxyOptions {
  /** The server: `host:port`, or a `mongodb://` URI whose database path and options `uri` keeps. */
  target: string;
  /** Where the proxy listens; default 127.0.0.1 and a free port. */
  host?: string;
  port?: number;
  /** Seed of the PRNG behind rule probabilities; random when absent (the counters report it). */
  seed?: number;
  /** Rules active from the first connection. */
  rules?: FaultRule[];
}

export interface ProxyCounters {
  seed: number;
  connections: {
    accepted: number;
    refused: number;
    open: number;
    /** Closed by a fault (dropRequest, dropReply, cutReply) or killConnections(). */
    closedByProxy: number;
    /** The server could not be reached or reset the connection. */
    upstreamErrors: number;
  };
  requests: {
    /** Messages read from clients. */
    received: number;
    /** Sent on to the server. */
    forwarded: number;
    /** Answered by the proxy with an error, not forwarded. */
    answered: number;
    /** Not forwarded, connection closed (dropRequest). */
    dropped: number;
    /** Received per command name (as sent; `(opaque)` for what the proxy cannot read). */
    byCommand: Record<string, number>;
    /** Received per opcode name (OP_MSG, OP_QUERY, OP_COMPRESSED, or the number). */
    byOpCode: Record<string, number>;
  };
  replies: {
    /** Messages read from the server. */
    received: number;
    /** Server replies delivered whole to the client (the proxy's own answers count in requests.answered). */
    delivered: number;
    /** Discarded with the connection (dropReply). */
    dropped: number;
    /** Delivered in part before the connection was closed (cutReply). */
    cut: number;
  };
  /** Faults injected, by kind, over all rules. */
  faults: Record<FaultKind, number>;
  /** Every rule ever added (removed ones too), in order. */
  rules: RuleCounters[];
  /** Streams that were not MongoDB messages (the connection was closed). */
  protocolErrors: number;
  lastError: string | undefined;
}

/** What tests use, in-process (FaultProxy) or across processes (RemoteFaultProxy). */
export interface FaultProxyControl {
  /** The connection string to give the driver. */
  readonly uri: string;
  addRule(rule: FaultRule): Promise<string>;
  removeRule(id: string): Promise<boolean>;
  /** Ends every rule and releases held (delayed) messages at once: clean passthrough from now on. */
  heal(): Promise<void>;
  counters(): Promise<ProxyCounters>;
  /** Closes every open client connection (and its server connection); returns how many. */
  killConnections(): Promise<number>;
  stop(): Promise<void>;
}

/** The target cannot be proxied (SRV, TLS, several hosts, unreadable). */
export class ProxyTargetError extends Error {
  constructor(
    readonly target: string,
    reason: string,
  ) {
    super(`cannot proxy ${redactUri(target)}: ${reason}`);
    this.name = 'ProxyTargetError';
  }
}

/** Credentials never go into errors or logs. */
export function redactUri(uri: string): string {
  return uri.replace(/\/\/[^@/]*@/, '//***@');
}

interface Target {
  host: string;
  port: number;
  /** Builds the client URI for the proxy's address. */
  uriFor(host: string, port: number): string;
}

const hostPort = (s: string): { host: string; port: number } | undefined => {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:[\]]+):(\d+)$/.exec(s) ?? /^([^:[\]]+)$/.exec(s);
  if (!m) return undefined;
  const port = m[2] === undefined ? 27017 : Number(m[2]);
  return port > 0 && port < 65536 ? { host: m[1]!, port } : undefined;
};

const formatHost = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

export function parseTarget(target: string): Target {
  if (target.startsWith('mongodb+srv://'))
    throw new ProxyTargetError(
      target,
      'mongodb+srv names several hosts and implies TLS; give the primary as mongodb://host:port',
    );
  if (!target.startsWith('mongodb://')) {
    const hp = hostPort(target);
    if (!hp) throw new ProxyTargetError(target, 'expected host:port or a mongodb:// URI');
    return { ...hp, uriFor: (host, port) => `mongodb://${formatHost(host, port)}/` };
  }
  const m = /^mongodb:\/\/(?:([^@/]*)@)?([^/?]*)(\/[^?]*)?(?:\?(.*))?$/.exec(target);
  if (!m) throw new ProxyTargetError(target, 'not a mongodb:// URI');
  const hosts = m[2]!.split(',');
  if (hosts.length !== 1)
    throw new ProxyTargetError(
      target,
      `it names ${hosts.length} hosts; the proxy fronts one server (give the primary)`,
    );
  const hp = hostPort(hosts[0]!);
  if (!hp) throw new ProxyTargetError(target, `bad host ${hosts[0]}`);
  const params = new URLSearchParams(m[4] ?? '');
  for (const key of [...params.keys()]) {
    const k = key.toLowerCase();
    if ((k === 'tls' || k === 'ssl') && params.get(key) === 'true')
      throw new ProxyTargetError(target, 'TLS connections cannot be read by the proxy');
    // With replicaSet the driver would discover the members and connect to them directly, around the proxy.
    if (k === 'replicaset') {
      params.delete(key);
      params.set('directConnection', 'true');
    }
  }
  const query = params.toString();
  const auth = m[1] === undefined ? '' : `${m[1]}@`;
  const path = m[3] ?? '/';
  return {
    ...hp,
    uriFor: (host, port) => `mongodb://${auth}${formatHost(host, port)}${path}${query ? `?${query}` : ''}`,
  };
}

const OPCODE_NAMES: Record<number, string> = {
  [OP_MSG]: 'OP_MSG',
  [OP_QUERY]: 'OP_QUERY',
  [OP_COMPRESSED]: 'OP_COMPRESSED',
};

const emptyFaultCounts = (): Record<FaultKind, number> =>
  Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;

type ReplyFault = Extract<Fault, { kind: 'delayReply' | 'dropReply' | 'cutReply' }>;
/** Decided when the request passed; applied when its reply comes, unless heal() came in between (`epoch`). */
type ReplyPlan = { fault?: ReplyFault; rule?: ActiveRule; epoch: number; observeHandshake: boolean };

export class FaultProxy implements FaultProxyControl {
  readonly uri: string;
  readonly port: number;
  readonly seed: number;
  private readonly rules: ActiveRule[] = [];
  private readonly connections = new Set<ProxiedConnection>();
  private readonly held = new Set<() => void>();
  private readonly random: () => number;
  private nextRuleId = 1;
  private nextReplyId = 0x40000000;
  private stopped = false;
  /** Bumped by heal(): reply faults decided before it are not applied after it. */
  private healEpoch = 0;
  /** @internal maxWireVersion from the last handshake reply seen: error labels follow the server's version. */
  serverMaxWireVersion: number | undefined;
  /** @internal Live counters, written by the connections; read them through counters(). */
  readonly stats: Omit<ProxyCounters, 'seed' | 'rules'>;

  private constructor(
    private readonly server: Server,
    readonly target: Target,
    address: AddressInfo,
    seed: number,
  ) {
    this.port = address.port;
    // A wildcard listen address is not one a client can dial.
    const host = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address;
    this.uri = target.uriFor(host, address.port);
    this.seed = seed;
    this.random = seededRandom(seed);
    this.stats = {
      connections: { accepted: 0, refused: 0, open: 0, closedByProxy: 0, upstreamErrors: 0 },
      requests: { received: 0, forwarded: 0, answered: 0, dropped: 0, byCommand: {}, byOpCode: {} },
      replies: { received: 0, delivered: 0, dropped: 0, cut: 0 },
      faults: emptyFaultCounts(),
      protocolErrors: 0,
      lastError: undefined,
    };
    server.on('connection', (socket) => this.accept(socket));
    server.on('error', (e) => this.noteError(e));
  }

  static async start(opts: FaultProxyOptions): Promise<FaultProxy> {
    const target = parseTarget(opts.target);
    const rules = (opts.rules ?? []).map((r) => parseRule(r));
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const proxy = new FaultProxy(server, target, server.address() as AddressInfo, opts.seed ?? randomInt(0, 2 ** 31));
    for (const rule of rules) proxy.install(rule);
    return proxy;
  }

  async addRule(input: FaultRule): Promise<string> {
    return this.install(parseRule(input));
  }

  async removeRule(id: string): Promise<boolean> {
    const rule = this.rules.find((r) => r.id === id && r.isActive(Date.now()));
    rule?.remove();
    return rule !== undefined;
  }

  async heal(): Promise<void> {
    this.healEpoch += 1;
    for (const rule of this.rules) rule.remove();
    for (const release of [...this.held]) release();
  }

  async counters(): Promise<ProxyCounters> {
    const now = Date.now();
    return structuredClone({
      ...this.stats,
      seed: this.seed,
      connections: { ...this.stats.connections, open: this.connections.size },
      rules: this.rules.map((r) => r.counters(now)),
    });
  }

  async killConnections(): Promise<number> {
    const n = this.connections.size;
    for (const c of [...this.connections]) c.abort();
    return n;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.heal();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.killConnections();
    await closed;
  }

  private install(rule: ParsedRule): string {
    const inUse = (id: string) => this.rules.some((r) => r.id === id && r.isActive(Date.now()));
    let id = rule.id;
    while (id === undefined || (rule.id === undefined && inUse(id))) id = `r${this.nextRuleId++}`;
    if (inUse(id)) throw new DuplicateRuleError(id);
    this.rules.push(new ActiveRule(id, rule, Date.now()));
    return id;
  }

  /** @internal The first active rule that matches and fires; each message gets at most one fault. */
  decideRequest(request: RequestInfo): { fault: Fault; rule: ActiveRule; epoch: number } | undefined {
    const now = Date.now();
    for (const rule of this.rules) {
      if (rule.fault.kind === 'refuseConnection' || !rule.isActive(now)) continue;
      if (!matchesRequest(rule.rule.match, request)) continue;
      if (rule.decide(now, this.random)) {
        this.stats.faults[rule.fault.kind] += 1;
        return { fault: rule.fault, rule, epoch: this.healEpoch };
      }
    }
    return undefined;
  }

  /** @internal Whether a reply fault decided in `epoch` still applies (no heal() since). */
  stillApplies(epoch: number): boolean {
    return epoch === this.healEpoch;
  }

  /** @internal A reply fault healed before its reply came: it never happened, so it is not counted. */
  withdraw(rule: ActiveRule): void {
    rule.injected -= 1;
    this.stats.faults[rule.fault.kind] -= 1;
  }

  /** @internal Holds a message `ms`, or until heal()/stop() (or its connection's end, through `release`) lets it go. */
  hold(ms: number): { done: Promise<void>; release: () => void } {
    let release!: () => void;
    const done = new Promise<void>((resolve) => {
      release = () => {
        clearTimeout(timer);
        this.held.delete(release);
        resolve();
      };
      const timer = setTimeout(release, ms);
      this.held.add(release);
    });
    return { done, release };
  }

  /** @internal requestID of a reply the proxy writes itself. */
  nextReplyRequestId(): number {
    this.nextReplyId = this.nextReplyId >= 0x7fffffff ? 0x40000000 : this.nextReplyId + 1;
    return this.nextReplyId;
  }

  /** @internal */
  noteError(e: unknown): void {
    this.stats.lastError = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  }

  /** @internal */
  forget(connection: ProxiedConnection): void {
    this.connections.delete(connection);
  }

  private accept(client: Socket): void {
    const now = Date.now();
    const refuse = this.rules.find(
      (r) => r.fault.kind === 'refuseConnection' && r.isActive(now) && r.decide(now, this.random),
    );
    if (refuse || this.stopped) {
      if (refuse) {
        this.stats.faults.refuseConnection += 1;
        this.stats.connections.refused += 1;
      }
      // A reset, not a close: the driver sees ECONNRESET during its handshake, as from a server that is going away.
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    this.stats.connections.accepted += 1;
    this.connections.add(new ProxiedConnection(this, client));
  }
}

/** Two active rules with one id: removeRule(id) would be ambiguous. */
export class DuplicateRuleError extends Error {
  constructor(readonly id: string) {
    super(`a rule with id "${id}" is already active`);
    this.name = 'DuplicateRuleError';
  }
}

/**
 * One client connection and its server connection. Requests and replies each go through a serial chain, so a
 * held message holds the ones behind it, as on a real socket, and the order of messages never changes.
 */
class ProxiedConnection {
  private readonly upstream: Socket;
  private readonly fromClient = new FrameReader();
  private readonly fromServer = new FrameReader();
  private toServer: Promise<void> = Promise.resolve();
  private toClient: Promise<void> = Promise.resolve();
  /** Reply handling decided at request time, by the request's requestID (the reply's responseTo). */
  private readonly plans = new Map<number, ReplyPlan>();
  /** Messages this connection holds; let go when it closes, so no timer outlives it. */
  private readonly holds = new Set<() => void>();
  private closed = false;

  constructor(
    private readonly proxy: FaultProxy,
    private readonly client: Socket,
  ) {
    client.setNoDelay(true);
    this.upstream = connect({ host: proxy.target.host, port: proxy.target.port, noDelay: true });
    this.upstream.on('error', (e) => {
      this.proxy.stats.connections.upstreamErrors += 1;
      this.proxy.noteError(e);
      this.abort(false);
    });
    client.on('error', () => this.abort(false));
    client.on('data', (chunk: Buffer) =>
      this.read(this.fromClient, chunk, (f) => (this.toServer = this.after(this.toServer, () => this.request(f)))),
    );
    this.upstream.on('data', (chunk: Buffer) =>
      this.read(this.fromServer, chunk, (f) => (this.toClient = this.after(this.toClient, () => this.reply(f)))),
    );
    // A side that ends cleanly ends the other once what is queued for it has gone out.
    client.on('end', () => void this.toServer.then(() => this.upstream.end()));
    this.upstream.on('end', () => void this.toClient.then(() => this.client.end()));
    client.on('close', () => this.abort(false));
    this.upstream.on('close', () => void this.toClient.then(() => this.abort(false)));
  }

  /** Destroys both sockets now; what is queued is dropped. */
  abort(byProxy = true): void {
    if (this.closed) return;
    this.closed = true;
    if (byProxy) this.proxy.stats.connections.closedByProxy += 1;
    this.client.destroy();
    this.upstream.destroy();
    for (const release of [...this.holds]) release();
    this.proxy.forget(this);
  }

  /** Chains `step` after `chain`; a step that throws (a bug, not a fault) closes this connection, not the proxy. */
  private after(chain: Promise<void>, step: () => Promise<void>): Promise<void> {
    return chain.then(step).catch((e: unknown) => {
      this.proxy.noteError(e);
      this.abort();
    });
  }

  private async hold(ms: number): Promise<void> {
    const { done, release } = this.proxy.hold(ms);
    this.holds.add(release);
    await done;
    this.holds.delete(release);
  }

  private read(reader: FrameReader, chunk: Buffer, handle: (f: Frame) => void): void {
    if (this.closed) return;
    let frames: Frame[];
    try {
      frames = reader.push(chunk);
    } catch (e) {
      this.proxy.stats.protocolErrors += 1;
      this.proxy.noteError(e);
      this.abort();
      return;
    }
    for (const frame of frames) handle(frame);
  }

  /** Writes, pausing the sending side while the receiving socket's buffer is full. */
  private async write(to: Socket, from: Socket, bytes: Buffer): Promise<void> {
    if (this.closed || to.destroyed) return;
    if (to.write(bytes)) return;
    from.pause();
    await new Promise<void>((resolve) => {
      const done = () => {
        to.off('drain', done);
        to.off('close', done);
        resolve();
      };
      to.on('drain', done);
      to.on('close', done);
    });
    if (!this.closed) from.resume();
  }

  private async request(frame: Frame): Promise<void> {
    if (this.closed) return;
    const stats = this.proxy.stats;
    let request: RequestInfo;
    try {
      request = parseRequest(frame);
    } catch (e) {
      stats.protocolErrors += 1;
      this.proxy.noteError(e);
      this.abort();
      return;
    }
    stats.requests.received += 1;
    const name = request.command ?? '(opaque)';
    stats.requests.byCommand[name] = (stats.requests.byCommand[name] ?? 0) + 1;
    const op = OPCODE_NAMES[request.opCode] ?? String(request.opCode);
    stats.requests.byOpCode[op] = (stats.requests.byOpCode[op] ?? 0) + 1;

    const decision = this.proxy.decideRequest(request);
    const fault = decision?.fault;
    const observeHandshake = isHandshake(request);
    switch (fault?.kind) {
      case 'delayRequest':
        await this.hold(fault.ms);
        break;
      case 'dropRequest':
        stats.requests.dropped += 1;
        this.abort();
        return;
      case 'error':
        return this.answer(request, fault);
      case 'delayReply':
      case 'dropReply':
      case 'cutReply':
        // A moreToCome request gets no reply, so a reply fault on it has nothing to act on (it still counts).
        if (!request.moreToCome)
          this.plans.set(request.requestId, { fault, rule: decision!.rule, epoch: decision!.epoch, observeHandshake });
        break;
      default:
        if (observeHandshake) this.plans.set(request.requestId, { epoch: 0, observeHandshake });
    }
    if (this.closed) return;
    await this.write(this.upstream, this.client, frame.bytes);
    stats.requests.forwarded += 1;
  }

  private answer(request: RequestInfo, fault: Extract<Fault, { kind: 'error' }>): void {
    const stats = this.proxy.stats;
    stats.requests.answered += 1;
    // An unacknowledged (moreToCome) request gets no reply from a server either, error or not.
    if (request.moreToCome) return;
    let doc: Document;
    try {
      doc = errorReply(fault, request, this.proxy.serverMaxWireVersion);
    } catch (e) {
      this.proxy.noteError(e);
      this.abort();
      return;
    }
    const id = this.proxy.nextReplyRequestId();
    const bytes =
      request.commandOpCode === OP_QUERY
        ? encodeOpReply(id, request.requestId, doc)
        : encodeOpMsg(id, request.requestId, doc);
    // Through the reply chain, behind replies already queued: the client reads messages in order.
    this.toClient = this.after(this.toClient, () => this.write(this.client, this.upstream, bytes));
  }

  private async reply(frame: Frame): Promise<void> {
    if (this.closed) return;
    const stats = this.proxy.stats;
    stats.replies.received += 1;
    const plan = this.plans.get(frame.responseTo);
    if (plan) {
      this.plans.delete(frame.responseTo);
      // An exhaust stream (streaming hello) answers one request many times, each reply answering the previous
      // one's requestID: keep watching the handshake stream; a fault applies to the first reply only.
      if (plan.observeHandshake && replyMoreToCome(frame))
        this.plans.set(frame.requestId, { epoch: 0, observeHandshake: true });
      if (plan.observeHandshake) this.observeHandshake(frame);
    }
    let fault = plan?.fault;
    if (fault && plan?.rule && !this.proxy.stillApplies(plan.epoch)) {
      this.proxy.withdraw(plan.rule);
      fault = undefined;
    }

    switch (fault?.kind) {
      case 'delayReply':
        await this.hold(fault.ms);
        break;
      case 'dropReply':
        stats.replies.dropped += 1;
        this.abort();
        return;
      case 'cutReply': {
        const length = frame.bytes.length;
        const keep = Math.min(Math.max(fault.afterBytes ?? Math.floor(length / 2), 0), length - 1);
        stats.replies.cut += 1;
        // Wait until the part is handed to the kernel, then close: the client reads a truncated message and EOF.
        await new Promise<void>((resolve) => {
          if (keep === 0 || this.client.destroyed) return resolve();
          this.client.write(frame.bytes.subarray(0, keep), () => resolve());
        });
        this.abort();
        return;
      }
    }
    if (this.closed) return;
    await this.write(this.client, this.upstream, frame.bytes);
    stats.replies.delivered += 1;
  }

  private observeHandshake(frame: Frame): void {
    try {
      const doc = replyDocument(frame);
      if (typeof doc?.maxWireVersion === 'number') this.proxy.serverMaxWireVersion = doc.maxWireVersion;
    } catch (e) {
      this.proxy.noteError(e);
    }
  }
}

/** Starts a proxy in this process. */
export function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  return FaultProxy.start(opts);
}
