export {
  createServices,
  sharedServices,
  resetSharedServices,
  shutdownTelemetry,
  type AppServices,
  type ServicesOptions,
  type RuntimeKind,
} from './services.js';
export {
  ingestPushedMessages,
  pullIngest,
  processInvocation,
  reclaimInvocation,
  adminRouterFor,
  ingestPipelineFor,
  type InvocationInfo,
} from './invocations.js';
export { queueDispatcher, noDispatch, type Dispatcher, type WakeUp } from './dispatch.js';
export { FcInvoker, fcDispatcher, fcEndpoint, type FcCredentials, type FcInvokerOptions } from './fc-invoker.js';
export { azureFunctionTimeoutMs, invocationDeadline } from './budget.js';
export { startLocalHost, type LocalHost, type LocalHostOptions } from './local-host.js';
export {
  schedules,
  azureFunctions,
  aliyunFunctions,
  azureFunction,
  isFunctionConfigured,
  type FunctionDefinition,
  type TriggerKind,
} from './catalog.js';
export { parseNcrontab, NcrontabError, type Schedule } from './ncrontab.js';
export {
  openHostQueues,
  fromProviders,
  sharedHostQueues,
  resetSharedHostQueues,
  observeHostSignals,
  type HostQueues,
  type OpenHostQueuesOptions,
} from './host-queues.js';
export {
  startSubscriber,
  type Subscriber,
  type SubscriberOptions,
  type SubscriberState,
  type SubscriberSummary,
} from './subscriber.js';
export { runSubscriberProcess, type SubscriberProcessOptions } from './subscriber-process.js';
export {
  parseProbePort,
  startProbeServer,
  type ProbeServer,
  type ProbeServerOptions,
  type ProbeStatus,
} from './probe-server.js';
