/**
 * A stand-in for the Azure Functions host, for the Service Bus trigger with the SDK binding: it
 * receives from Service Bus (the test peer) with the real @azure/service-bus SDK in peek-lock, invokes
 * the app's function in a separate worker process the way the host does (ModelBindingData per message,
 * trigger metadata), and serves the settlement gRPC service the app's settlement client calls. With
 * `autoCompleteMessages` not false it settles on its own afterwards, as the host does. A trigger with
 * `isSessionsEnabled` reads one session at a time (accept the next session, deliver its batches until it
 * is empty, close it) and passes each message's session id in `SessionIdArray`, as the host does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServiceBusClient, type ServiceBusReceivedMessage, type ServiceBusReceiver } from '@azure/service-bus';
import { toModelBindingData } from './binding-data.js';
import type { InvokeRequest, RegisteredFunction, WorkerReply } from './protocol.js';
import { startSettlementService, type Settlement } from './settlement-service.js';

export type { Settlement } from './settlement-service.js';
export type { RegisteredFunction } from './protocol.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const MAX_GRPC_MESSAGE = 128 * 1024 * 1024;

export interface Delivery {
  /** Messages handed to the function (0: nothing was waiting, the function was not invoked). */
  delivered: number;
  ok: boolean;
  returnValue?: unknown;
  error?: string;
}

export interface FunctionsHost {
  readonly functions: RegisteredFunction[];
  readonly settlements: Settlement[];
  /** Receives up to `maxMessages` for the function's entity and invokes it once with them. */
  deliver(functionName: string, opts?: { maxMessages?: number; waitMs?: number }): Promise<Delivery>;
  stop(): Promise<void>;
}

/** `%Setting%` in a binding resolves to the app setting, as on Azure. */
function resolveSetting(value: unknown, env: Record<string, string>): string {
  const s = String(value);
  return s.replace(/%([^%]+)%/g, (_, name: string) => {
    const v = env[name];
    if (v === undefined) throw new Error(`binding refers to app setting ${name}, which is not set`);
    return v;
  });
}

export async function startFunctionsHost(opts: {
  /** App settings (the worker's environment); the Service Bus connection string under the binding's `connection`. */
  env: Record<string, string>;
}): Promise<FunctionsHost> {
  const settlement = await startSettlementService();
  const worker: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      resolve(root, 'test/support/functions-host/worker.ts'),
      '--host',
      '127.0.0.1',
      '--port',
      String(settlement.port),
      '--functions-grpc-max-message-length',
      String(MAX_GRPC_MESSAGE),
    ],
    { cwd: root, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'inherit', 'pipe', 'ipc'] },
  );
  let stderr = '';
  worker.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const pending = new Map<number, (r: Extract<WorkerReply, { type: 'result' }>) => void>();
  const functions = await new Promise<RegisteredFunction[]>((resolveReady, reject) => {
    worker.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready: ${stderr}`)));
    worker.on('message', (m: WorkerReply) => {
      if (m.type === 'ready') resolveReady(m.functions);
      else pending.get(m.id)?.(m);
    });
  });
  worker.removeAllListeners('exit');

  const clients = new Map<string, ServiceBusClient>();
  const receivers = new Map<string, ServiceBusReceiver>();
  /** The session a session trigger reads now, per entity (kept until a receive finds it empty). */
  const sessions = new Map<string, ServiceBusReceiver>();

  async function sessionReceiverFor(fn: RegisteredFunction, waitMs: number): Promise<ServiceBusReceiver | undefined> {
    const trigger = Object.values(fn.bindings).find((b) => b.type === 'serviceBusTrigger')!;
    const connection = opts.env[String(trigger.connection)]!;
    const entity =
      trigger.queueName !== undefined
        ? resolveSetting(trigger.queueName, opts.env)
        : `${resolveSetting(trigger.topicName, opts.env)}/${resolveSetting(trigger.subscriptionName, opts.env)}`;
    const current = sessions.get(entity);
    if (current) return current;
    let client = clients.get(connection);
    if (!client) clients.set(connection, (client = new ServiceBusClient(connection)));
    const [topic, subscription] = entity.split('/');
    const options = { receiveMode: 'peekLock', skipParsingBodyAsJson: true, maxWaitTimeInMs: waitMs } as const;
    try {
      const r = subscription
        ? await client.acceptNextSession(topic!, subscription, options)
        : await client.acceptNextSession(topic!, options);
      sessions.set(entity, r);
      return r;
    } catch {
      return undefined; // no session has messages waiting
    }
  }

  const isSessionTrigger = (fn: RegisteredFunction) =>
    Object.values(fn.bindings).some((b) => b.type === 'serviceBusTrigger' && b.isSessionsEnabled === true);

  function receiverFor(fn: RegisteredFunction): ServiceBusReceiver {
    const trigger = Object.values(fn.bindings).find((b) => b.type === 'serviceBusTrigger');
    if (!trigger) throw new Error(`function ${fn.name} has no Service Bus trigger`);
    const connection = opts.env[String(trigger.connection)];
    if (!connection) throw new Error(`function ${fn.name}: app setting ${String(trigger.connection)} is not set`);
    const entity =
      trigger.queueName !== undefined
        ? resolveSetting(trigger.queueName, opts.env)
        : `${resolveSetting(trigger.topicName, opts.env)}/${resolveSetting(trigger.subscriptionName, opts.env)}`;
    let r = receivers.get(entity);
    if (!r) {
      let client = clients.get(connection);
      if (!client) clients.set(connection, (client = new ServiceBusClient(connection)));
      const [topic, subscription] = entity.split('/');
      // Raw bodies: the host forwards the bytes it received, the app's side decodes them.
      const options = { receiveMode: 'peekLock', skipParsingBodyAsJson: true } as const;
      r = subscription ? client.createReceiver(topic!, subscription, options) : client.createReceiver(topic!, options);
      receivers.set(entity, r);
    }
    return r;
  }

  let nextId = 1;
  async function deliver(
    functionName: string,
    o: { maxMessages?: number; waitMs?: number; nextSession?: boolean } = {},
  ): Promise<Delivery> {
    const fn = functions.find((f) => f.name === functionName);
    if (!fn) throw new Error(`no function ${functionName}; registered: ${functions.map((f) => f.name).join(', ')}`);
    const [bindingName, trigger] = Object.entries(fn.bindings).find(([, b]) => b.type === 'serviceBusTrigger')!;
    const deferred = (trigger.properties as { supportsDeferredBinding?: string } | undefined)?.supportsDeferredBinding;
    if (deferred !== 'true')
      throw new Error(`function ${functionName} does not use the SDK binding (sdkBinding: true)`);
    const bySession = isSessionTrigger(fn);
    const receiver = bySession ? await sessionReceiverFor(fn, o.waitMs ?? 2_000) : receiverFor(fn);
    if (!receiver) return { delivered: 0, ok: true };
    const messages: ServiceBusReceivedMessage[] = await receiver.receiveMessages(o.maxMessages ?? 32, {
      maxWaitTimeInMs: o.waitMs ?? 2_000,
    });
    if (messages.length === 0 && bySession) {
      // The session is drained: release it; the next delivery accepts the next session.
      for (const [entity, r] of sessions) if (r === receiver) sessions.delete(entity);
      await receiver.close();
      return o.nextSession ? { delivered: 0, ok: true } : deliver(functionName, { ...o, nextSession: true });
    }
    if (messages.length === 0) return { delivered: 0, ok: true };
    for (const m of messages) settlement.hold(m, receiver);
    const id = nextId++;
    const req: InvokeRequest = {
      id,
      functionName,
      invocationId: randomUUID(),
      inputData: [
        {
          name: bindingName,
          modelBindingData: messages.map((m) => {
            const d = toModelBindingData(m);
            return { ...d, content: d.content.toString('base64') };
          }),
        },
      ],
      triggerMetadata: {
        MessageIdArray: { json: JSON.stringify(messages.map((m) => String(m.messageId))) },
        DeliveryCountArray: { json: JSON.stringify(messages.map((m) => m.deliveryCount ?? 1)) },
        EnqueuedTimeUtcArray: { json: JSON.stringify(messages.map((m) => m.enqueuedTimeUtc?.toISOString())) },
        ...(bySession ? { SessionIdArray: { json: JSON.stringify(messages.map((m) => m.sessionId ?? null)) } } : {}),
      },
    };
    const reply = await new Promise<Extract<WorkerReply, { type: 'result' }>>((res) => {
      pending.set(id, res);
      worker.send(req);
    });
    pending.delete(id);
    // autoCompleteMessages (default true): the host settles what the function left, by its outcome.
    if (trigger.autoCompleteMessages !== false) {
      const settled = new Set(settlement.settlements.map((s) => s.lockToken));
      for (const m of messages.filter((x) => !settled.has(x.lockToken!)))
        await (reply.ok ? receiver.completeMessage(m) : receiver.abandonMessage(m));
    }
    return reply.ok
      ? { delivered: messages.length, ok: true, returnValue: reply.returnValue }
      : { delivered: messages.length, ok: false, error: reply.error };
  }

  return {
    functions,
    settlements: settlement.settlements,
    deliver,
    async stop() {
      worker.kill('SIGTERM');
      for (const r of [...receivers.values(), ...sessions.values()]) await r.close();
      for (const c of clients.values()) await c.close();
      await settlement.stop();
    },
  };
}
