/**
 * The Functions host's settlement gRPC service (the Service Bus extension's "Settlement" service, the
 * proto shipped in @azure/functions-extensions-servicebus): the app's settlement client calls it with
 * a lock token, and the host settles the message it holds with its own Service Bus receiver.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ServiceBusReceivedMessage, ServiceBusReceiver } from '@azure/service-bus';

export interface Settlement {
  action: 'complete' | 'abandon' | 'deadletter' | 'defer' | 'renewMessageLock';
  lockToken: string;
  messageId: string;
  reason?: string;
  description?: string;
}

interface Held {
  message: ServiceBusReceivedMessage;
  receiver: ServiceBusReceiver;
}

interface LockRequest {
  locktoken: string;
}
interface DeadletterRequest extends LockRequest {
  deadletterReason?: { value: string } | null;
  deadletterErrorDescription?: { value: string } | null;
}

export interface SettlementService {
  readonly port: number;
  /** Every settlement the app asked for, in order. */
  readonly settlements: Settlement[];
  hold(message: ServiceBusReceivedMessage, receiver: ServiceBusReceiver): void;
  stop(): Promise<void>;
}

function protoPath(): string {
  const pkg = createRequire(import.meta.url).resolve('@azure/functions-extensions-servicebus/package.json');
  return join(dirname(pkg), 'dist', 'proto', 'settlement.proto');
}

export async function startSettlementService(): Promise<SettlementService> {
  const file = protoPath();
  const definition = protoLoader.loadSync(file, {
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [dirname(file)],
  });
  const service = (
    grpc.loadPackageDefinition(definition) as unknown as Record<string, { service: grpc.ServiceDefinition }>
  ).Settlement!.service;
  const held = new Map<string, Held>();
  const settlements: Settlement[] = [];

  /** Settles a held message; the lock token is forgotten once the message left the host's hands. */
  const settle =
    <R extends LockRequest>(
      action: Settlement['action'],
      apply: (h: Held, req: R) => Promise<unknown>,
      keepsLock = false,
    ): grpc.handleUnaryCall<R, object> =>
    (call, callback) => {
      const req = call.request;
      const h = held.get(req.locktoken);
      if (!h) {
        callback({ code: grpc.status.NOT_FOUND, details: `no message held with lock token ${req.locktoken}` });
        return;
      }
      const d = req as Partial<DeadletterRequest>;
      settlements.push({
        action,
        lockToken: req.locktoken,
        messageId: String(h.message.messageId),
        ...(d.deadletterReason ? { reason: d.deadletterReason.value } : {}),
        ...(d.deadletterErrorDescription ? { description: d.deadletterErrorDescription.value } : {}),
      });
      apply(h, req).then(
        () => {
          if (!keepsLock) held.delete(req.locktoken);
          callback(null, {});
        },
        (e: unknown) => callback({ code: grpc.status.INTERNAL, details: e instanceof Error ? e.message : String(e) }),
      );
    };

  const server = new grpc.Server();
  server.addService(service, {
    complete: settle('complete', (h) => h.receiver.completeMessage(h.message)),
    abandon: settle('abandon', (h) => h.receiver.abandonMessage(h.message)),
    deadletter: settle<DeadletterRequest>('deadletter', (h, req) =>
      h.receiver.deadLetterMessage(h.message, {
        deadLetterReason: req.deadletterReason?.value ?? '',
        deadLetterErrorDescription: req.deadletterErrorDescription?.value ?? '',
      }),
    ),
    defer: settle('defer', (h) => h.receiver.deferMessage(h.message)),
    renewMessageLock: settle('renewMessageLock', (h) => h.receiver.renewMessageLock(h.message), true),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return {
    port,
    settlements,
    hold: (message, receiver) => held.set(message.lockToken!, { message, receiver }),
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
