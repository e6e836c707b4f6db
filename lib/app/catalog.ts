/**
 * The function set, declared once. The Azure Functions app (functions/azure), the Function Compute
 * handlers (functions/aliyun), the local runtime and the infrastructure templates all follow this
 * catalog; the drift tests check the templates against it.
 *
 * Schedules are NCRONTAB with seconds ("s m h dom mon dow"), the form both Azure Functions timers and
 * Function Compute 3.0 cron timer triggers take.
 */
import { ConfigError } from '../config/errors.js';
import { azureServiceBusSection } from '../config/sections/azure-service-bus.js';

export const schedules = {
  /** Catches retries that came due and tasks no dispatch message woke a processor for. */
  processorSweep: '0 */1 * * * *',
  /** Reclaim stalled tasks, mark dead workers, apply retention. */
  reclaimer: '30 */1 * * * *',
  /** Pull-based ingest (MNS on Function Compute): each run pulls until the queue is empty or its time is spent (FC timers fire at most once a minute). */
  ingestPuller: '0 */1 * * * *',
} as const;

const SESSIONS_SETTING = 'AzureServiceBus__RequiresSession';

/**
 * Whether a function's trigger reads sessions (`isSessionsEnabled`), from its sessions setting in the
 * app settings (AzureServiceBus:RequiresSession). The host binds triggers before any invocation, so this
 * is read when the function is registered; an invalid value is an error naming the setting.
 */
export function sessionsEnabled(fn: FunctionDefinition, env: Record<string, string | undefined>): boolean {
  if (!fn.sessionsSetting) return false;
  const parsed = azureServiceBusSection.schema.shape.RequiresSession.safeParse(env[fn.sessionsSetting]);
  if (!parsed.success)
    throw new ConfigError([
      {
        key: fn.sessionsSetting.replace('__', ':'),
        envVar: fn.sessionsSetting,
        given: JSON.stringify(env[fn.sessionsSetting]),
        expected: `true or false (whether the Service Bus entity of function ${fn.name} is session-enabled)`,
        source: 'env',
      },
    ]);
  return parsed.data;
}

export type TriggerKind = 'serviceBusQueue' | 'serviceBusTopic' | 'storageQueue' | 'timer' | 'http' | 'invoke';

export interface FunctionDefinition {
  name: string;
  trigger: TriggerKind;
  /** For timers. */
  schedule?: string;
  /** For queue triggers: the setting that holds the queue/topic name. */
  queueSetting?: string;
  subscriptionSetting?: string;
  /**
   * Service Bus triggers: the setting that says whether the entity is session-enabled (the same
   * setting the templates make the entities session-enabled from). The trigger must follow the entity.
   */
  sessionsSetting?: string;
  /**
   * Registered only when its entity settings (queueSetting, subscriptionSetting) are set: the Functions
   * host refuses to start a trigger whose `%Setting%` is empty, and a deployment may read only a queue,
   * only a topic, or neither (local.settings.example.json as shipped sets none).
   */
  optional?: true;
  /** What it calls in lib/. */
  purpose: string;
}

/** Azure Functions app (functions/azure). */
export const azureFunctions: readonly FunctionDefinition[] = [
  {
    name: 'ingest-servicebus-queue',
    trigger: 'serviceBusQueue',
    queueSetting: 'AzureServiceBus__QueueName',
    sessionsSetting: SESSIONS_SETTING,
    optional: true,
    purpose: 'ingest pushed Service Bus messages',
  },
  {
    name: 'ingest-servicebus-topic',
    trigger: 'serviceBusTopic',
    queueSetting: 'AzureServiceBus__TopicName',
    subscriptionSetting: 'AzureServiceBus__SubscriptionName',
    sessionsSetting: SESSIONS_SETTING,
    optional: true,
    purpose: 'ingest pushed Service Bus topic messages',
  },
  {
    name: 'processor-dispatch',
    trigger: 'storageQueue',
    queueSetting: 'AzureStorage__DispatchQueueName',
    purpose: 'a worker invocation when ingest stored new tasks',
  },
  {
    name: 'processor-sweep',
    trigger: 'timer',
    schedule: schedules.processorSweep,
    purpose: 'a worker invocation for retries that came due',
  },
  { name: 'reclaimer', trigger: 'timer', schedule: schedules.reclaimer, purpose: 'reclaimer pass' },
  { name: 'admin', trigger: 'http', purpose: 'operations API and dashboard under /api' },
];

/** Function Compute 3.0 functions (functions/aliyun). */
export const aliyunFunctions: readonly FunctionDefinition[] = [
  {
    name: 'mns-puller',
    trigger: 'timer',
    schedule: schedules.ingestPuller,
    queueSetting: 'Aliyun__QueueName',
    purpose: 'pull MNS until empty or out of time; fan out processors',
  },
  { name: 'processor', trigger: 'invoke', purpose: 'a worker invocation, invoked asynchronously by the puller' },
  {
    name: 'processor-sweep',
    trigger: 'timer',
    schedule: schedules.processorSweep,
    purpose: 'a worker invocation for retries that came due',
  },
  { name: 'reclaimer', trigger: 'timer', schedule: schedules.reclaimer, purpose: 'reclaimer pass' },
  { name: 'admin', trigger: 'http', purpose: 'operations API and dashboard' },
];

/**
 * Whether a host registers the function under these settings: always, unless it is optional and one
 * of its entity settings is unset or empty.
 */
export function isFunctionConfigured(def: FunctionDefinition, env: Record<string, string | undefined>): boolean {
  if (!def.optional) return true;
  return [def.queueSetting, def.subscriptionSetting].every((k) => k === undefined || (env[k] ?? '').trim() !== '');
}

/** The Azure function of this name (a name the catalog declares). */
export function azureFunction(name: string): FunctionDefinition {
  const def = azureFunctions.find((f) => f.name === name);
  if (!def) throw new Error(`lib/app/catalog.ts declares no Azure function "${name}"`);
  return def;
}
