/**
 * The language worker side of the Functions host stand-in: a separate Node process started the way
 * the host starts the Node worker (`--host --port --functions-grpc-max-message-length`: where the
 * settlement client connects). It provides `@azure/functions-core` (what the real worker injects),
 * loads the app (functions/azure), and runs invocations through @azure/functions' own programming
 * model: the same argument conversion (fromRpcTypedData, the SDK binding's resource factory) as on Azure.
 * Host and worker talk over Node IPC instead of the worker gRPC protocol.
 */
import Module from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import type { InvokeRequest, WorkerReply } from './protocol.js';

interface CoreMetadata {
  name: string;
  bindings: Record<string, { type: string; direction: string } & Record<string, unknown>>;
}
type Callback = (...args: unknown[]) => unknown;
interface InvocationModel {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
  invokeFunction(context: unknown, inputs: unknown[], handler: Callback): Promise<unknown>;
}
interface ProgrammingModel {
  getInvocationModel(coreCtx: unknown): InvocationModel;
}

const functions = new Map<string, { metadata: CoreMetadata; callback: Callback }>();
let model: ProgrammingModel | undefined;
const core = {
  registerFunction(metadata: CoreMetadata, callback: Callback) {
    functions.set(metadata.name, { metadata, callback });
    return { dispose: () => functions.delete(metadata.name) };
  },
  setProgrammingModel(m: ProgrammingModel) {
    model = m;
  },
  getProgrammingModel: () => model,
  registerHook: () => ({ dispose: () => undefined }),
  log: (level: string, category: string, message: string) => {
    if (level === 'error' || level === 'critical') process.stderr.write(`[${category}] ${message}\n`);
  },
};

// The real worker resolves `@azure/functions-core` to itself the same way.
const loader = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
const load = loader._load.bind(Module);
loader._load = (request: string, ...rest: unknown[]) =>
  request === '@azure/functions-core' ? core : load(request, ...rest);

const send = (reply: WorkerReply) => process.send?.(reply);

async function invoke(req: InvokeRequest): Promise<unknown> {
  const fn = functions.get(req.functionName);
  if (!fn || !model) throw new Error(`function ${req.functionName} is not registered`);
  const coreCtx = {
    invocationId: req.invocationId,
    metadata: fn.metadata,
    request: {
      invocationId: req.invocationId,
      functionId: req.functionName,
      triggerMetadata: req.triggerMetadata,
      inputData: req.inputData.map((b) => ({
        name: b.name,
        data: {
          collectionModelBindingData: {
            modelBindingData: b.modelBindingData.map((d) => ({ ...d, content: Buffer.from(d.content, 'base64') })),
          },
        },
      })),
    },
  };
  const invocation = model.getInvocationModel(coreCtx);
  const { context, inputs } = await invocation.getArguments();
  return invocation.invokeFunction(context, inputs, fn.callback);
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
await import(resolve(root, process.env.FUNCTIONS_APP_ENTRY ?? 'functions/azure/index.ts'));
process.on('message', (req: InvokeRequest) => {
  invoke(req).then(
    (returnValue) =>
      send({
        type: 'result',
        id: req.id,
        ok: true,
        returnValue: JSON.parse(JSON.stringify(returnValue ?? null)) as unknown,
      }),
    (e: unknown) =>
      send({
        type: 'result',
        id: req.id,
        ok: false,
        error: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
      }),
  );
});
send({
  type: 'ready',
  functions: [...functions.values()].map((f) => f.metadata),
});
