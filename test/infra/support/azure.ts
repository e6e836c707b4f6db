/** The Bicep templates (infra/azure) and their checks against the code. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDuration } from '../../../lib/config/index.js';
import {
  arrayItems,
  evaluate,
  firstObject,
  identifiers,
  objectEntries,
  parseBicep,
  type BicepFile,
  type BicepScope,
} from './bicep.js';
import {
  caseDuplicates,
  differencesFromDefaults,
  loadProblems,
  missingSettings,
  providerProblems,
  repoPath,
  settingsFor,
  unknownSettings,
  type Expectations,
} from './drift.js';

export interface AzureTemplates {
  main: BicepFile;
  params: BicepFile;
  /** modules/<file>.bicep by file name. */
  modules: Map<string, BicepFile>;
  scope: BicepScope;
}

export function loadAzure(dir = repoPath('infra', 'azure')): AzureTemplates {
  const read = (f: string) => parseBicep(readFileSync(join(dir, f), 'utf8'));
  const main = read('main.bicep');
  const params = read('main.bicepparam');
  const modules = new Map(
    readdirSync(join(dir, 'modules'))
      .filter((f) => f.endsWith('.bicep'))
      .map((f) => [f, read(join('modules', f))] as const),
  );
  return { main, params, modules, scope: { params: main.params, vars: main.vars } };
}

/** Azure with some text of main.bicep replaced (the checks' own tests). */
export function withMain(t: AzureTemplates, edit: (text: string) => string): AzureTemplates {
  const main = parseBicep(edit(readFileSync(repoPath('infra', 'azure', 'main.bicep'), 'utf8')));
  return { ...t, main, scope: { params: main.params, vars: main.vars } };
}

export interface AppSettings {
  /** Host/platform settings (var platformSettings). */
  platform: Map<string, string>;
  /** The settings lib/config reads (var taskmeshSettings). */
  taskmesh: Map<string, string>;
  all: Map<string, string>;
}

export function appSettings(t: AzureTemplates): AppSettings {
  const obj = (name: string) => {
    const expr = t.main.vars.get(name);
    if (!expr) throw new Error(`main.bicep: no var ${name}`);
    return objectEntries(expr);
  };
  const platform = obj('platformSettings');
  const taskmesh = obj('taskmeshSettings');
  return { platform, taskmesh, all: new Map([...platform, ...taskmesh]) };
}

export function module(t: AzureTemplates, file: string): BicepFile {
  const m = t.modules.get(file);
  if (!m) throw new Error(`infra/azure/modules/${file} missing`);
  return m;
}

function moduleCall(t: AzureTemplates, file: string) {
  const call = t.main.modules.find((m) => m.path === `modules/${file}`);
  if (!call) throw new Error(`main.bicep does not use modules/${file}`);
  return call;
}

const ci = (map: Map<string, string>, key: string): string | undefined => {
  for (const [k, v] of map) if (k.toLowerCase() === key.toLowerCase()) return v;
  return undefined;
};

/** Identity-based connection properties of the Functions host (`<connection>__credential` etc.). */
export const connectionProperties = [
  /__(credential|clientId|accountName|fullyQualifiedNamespace|queueServiceUri|blobServiceUri)$/i,
];

// -------------------------------------------------------------------------------------------------

/** The queue providers infra/azure deploys, as main.bicep declares them: var queueProviders. */
export function queueProviders(t: AzureTemplates): string[] {
  const expr = t.main.vars.get('queueProviders');
  if (!expr) throw new Error('main.bicep: no var queueProviders');
  return arrayItems(expr).map((item) => String(evaluate(item, t.scope)));
}

export function settingsProblems(t: AzureTemplates, exp: Expectations): string[] {
  const s = appSettings(t);
  const deployed = queueProviders(t);
  const selected = evaluate(ci(s.taskmesh, 'Ingest__Provider') ?? "''", t.scope);
  const problems = [
    ...missingSettings(settingsFor(exp, deployed), s.taskmesh.keys()).map(
      (k) => `main.bicep taskmeshSettings: missing setting ${k}`,
    ),
    ...providerProblems(
      'main.bicep',
      exp,
      deployed,
      typeof selected === 'string' ? selected : undefined,
      s.taskmesh.keys(),
    ),
    ...unknownSettings(s.all.keys(), exp.settings, connectionProperties).map(
      (k) => `main.bicep app settings: ${k} is not a setting the code reads`,
    ),
    ...caseDuplicates(s.all.keys()).map(
      (k) => `main.bicep app settings: duplicate setting ${k} (app setting names are case-insensitive)`,
    ),
  ];
  const read = new Set(exp.settings.map((k) => k.toLowerCase()));
  for (const k of s.platform.keys())
    if (read.has(k.toLowerCase()))
      problems.push(`main.bicep: ${k} is read by the code; it belongs in taskmeshSettings`);
  const passed = moduleCall(t, 'functionapp.bicep').params.get('appSettings')?.replace(/\s+/g, '');
  if (passed !== 'union(platformSettings,taskmeshSettings,extraAppSettings)')
    problems.push(
      `functionapp module gets appSettings ${passed}, not union(platformSettings, taskmeshSettings, extraAppSettings)`,
    );
  return problems;
}

/** The taskmesh settings' values with the parameters' defaults; secrets and deployment-time values left out. */
export function resolvedSettings(t: AzureTemplates, exp: Expectations): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, expr] of appSettings(t).taskmesh) {
    if (exp.secrets.has(k)) continue;
    const v = evaluate(expr, t.scope);
    if (v !== undefined && v !== null) env[k] = String(v);
  }
  return env;
}

export function valueProblems(t: AzureTemplates, exp: Expectations, intended: readonly string[]): string[] {
  const env = resolvedSettings(t, exp);
  const problems = loadProblems(env).map((p) => `main.bicep: ${p}`);
  if (problems.length > 0) return problems;
  const diff = differencesFromDefaults(env);
  for (const d of diff)
    if (!intended.includes(d))
      problems.push(`main.bicep sets ${d}=${JSON.stringify(env[d])}, which differs from the code's default`);
  for (const d of intended)
    if (!diff.includes(d))
      problems.push(`main.bicep: ${d} was expected to differ from the code's default and does not`);
  return problems;
}

export function secretProblems(t: AzureTemplates, exp: Expectations): string[] {
  const problems: string[] = [];
  const s = appSettings(t);
  const kv = module(t, 'keyvault.bicep');
  for (const secret of exp.secrets) {
    const expr = ci(s.taskmesh, secret);
    if (expr === undefined) continue; // reported as missing
    const ref = /^'@Microsoft\.KeyVault\(SecretUri=\$\{keyVault\.outputs\.(\w+)\}\)'$/.exec(expr);
    if (expr === "''") continue;
    if (!ref) problems.push(`${secret} must be a Key Vault reference or empty, is ${expr}`);
    else if (!kv.outputs.has(ref[1]!))
      problems.push(`${secret} references keyVault.outputs.${ref[1]}, which keyvault.bicep does not declare`);
  }
  for (const [k, expr] of s.all) {
    if (/listKeys\(|AccountKey=|SharedAccessKey|primaryKey/.test(expr))
      problems.push(`app setting ${k} carries a key: ${expr}`);
    if (/^\w+$/.test(expr.trim()) && t.main.params.get(expr.trim())?.secure)
      problems.push(`app setting ${k} holds the secure parameter ${expr.trim()} (use Key Vault)`);
  }
  const mongo = t.main.params.get('mongoDbConnectionString');
  if (!mongo?.secure || mongo.expr !== undefined)
    problems.push('param mongoDbConnectionString must be @secure() without a default');
  if (kv.params.get('mongoDbConnectionString')?.secure !== true)
    problems.push('keyvault.bicep: mongoDbConnectionString must be @secure()');
  const vault = kv.resources.find((r) => r.type === 'Microsoft.KeyVault/vaults');
  const props = vault ? objectEntries(objectEntries(firstObject(vault.body)!).get('properties')!) : undefined;
  if (props?.get('enableRbacAuthorization') !== 'true')
    problems.push('Key Vault must use RBAC (enableRbacAuthorization: true)');
  return problems;
}

/** App settings the triggers need: their queue/topic/subscription settings and identity-based connections. */
export function triggerProblems(
  t: AzureTemplates,
  exp: Expectations,
  codeConnections: readonly string[] = [],
): string[] {
  const problems: string[] = [];
  const s = appSettings(t);
  for (const fn of exp.azureFunctions) {
    for (const setting of [fn.queueSetting, fn.subscriptionSetting]) {
      if (!setting) continue;
      const expr = ci(s.taskmesh, setting);
      if (expr === undefined) problems.push(`${fn.name}: app setting ${setting} missing`);
      else if (expr === "''" || evaluate(expr, t.scope) === '')
        problems.push(`${fn.name}: app setting ${setting} is empty`);
    }
  }
  const connection = (name: string) => {
    const ns =
      ci(s.all, `${name}__fullyQualifiedNamespace`) ??
      ci(s.all, `${name}__accountName`) ??
      ci(s.all, `${name}__queueServiceUri`);
    if (!ns && !ci(s.all, name))
      return problems.push(`connection ${name}: no ${name}__fullyQualifiedNamespace/__accountName app setting`);
    if (ci(s.all, name))
      problems.push(`connection ${name}: a connection string (${name}) is set; use the identity-based properties`);
    if (ci(s.all, `${name}__credential`) !== "'managedidentity'")
      problems.push(`connection ${name}: ${name}__credential must be 'managedidentity'`);
    if (!ci(s.all, `${name}__clientId`)?.includes('identity.outputs.clientId'))
      problems.push(`connection ${name}: ${name}__clientId must be the user-assigned identity's client id`);
    return 0;
  };
  if (exp.azureFunctions.some((f) => f.trigger === 'serviceBusQueue' || f.trigger === 'serviceBusTopic'))
    connection('AzureServiceBus');
  connection('AzureWebJobsStorage'); // host storage, timers, the storage queue trigger
  for (const c of codeConnections) if (c !== 'AzureServiceBus' && c !== 'AzureWebJobsStorage') connection(c);
  return problems;
}

/**
 * The Service Bus triggers follow their entities: each reads `isSessionsEnabled` from its sessions
 * setting (lib/app/catalog.ts), and that app setting comes from the parameter the servicebus module
 * makes the queue and subscription session-enabled from. Turning the parameter on turns both on.
 */
export function sessionProblems(t: AzureTemplates, exp: Pick<Expectations, 'azureFunctions'>): string[] {
  const problems: string[] = [];
  const s = appSettings(t);
  const requiresSession = moduleCall(t, 'servicebus.bicep').params.get('requiresSession') ?? '';
  for (const fn of exp.azureFunctions) {
    if (fn.trigger !== 'serviceBusQueue' && fn.trigger !== 'serviceBusTopic') continue;
    if (!fn.sessionsSetting) {
      problems.push(`${fn.name}: no sessions setting, so its trigger cannot follow a session-enabled entity`);
      continue;
    }
    const expr = s.taskmesh.get(fn.sessionsSetting);
    if (expr === undefined) problems.push(`${fn.name}: app setting ${fn.sessionsSetting} missing`);
    else if (!identifiers(expr).has(requiresSession))
      problems.push(
        `${fn.name}: app setting ${fn.sessionsSetting} (${expr}) is not set from the servicebus module's requiresSession (${requiresSession})`,
      );
  }
  return problems;
}

/** Every queue name the code uses is declared, bound to the same parameter as its app setting. */
export function queueProblems(t: AzureTemplates): string[] {
  const problems: string[] = [];
  const s = appSettings(t);
  const sb = moduleCall(t, 'servicebus.bicep');
  const pairs: [string, string][] = [
    ['queueName', 'AzureServiceBus__QueueName'],
    ['topicName', 'AzureServiceBus__TopicName'],
    ['subscriptionName', 'AzureServiceBus__SubscriptionName'],
  ];
  for (const [param, setting] of pairs) {
    if (sb.params.get(param) !== s.taskmesh.get(setting))
      problems.push(
        `servicebus module ${param} (${sb.params.get(param)}) is not the value of ${setting} (${s.taskmesh.get(setting)})`,
      );
  }
  // Entity properties bound to the parameters the code's settings use.
  for (const [param, setting] of [
    ['maxDeliveryCount', 'AzureServiceBus__MaxDeliveryCount'],
    ['requiresSession', 'AzureServiceBus__RequiresSession'],
    ['enablePartitioning', 'AzureServiceBus__EnablePartitioning'],
  ] as const) {
    const given = sb.params.get(param) ?? '';
    if (!identifiers(s.taskmesh.get(setting) ?? '').has(given))
      problems.push(`servicebus module ${param} (${given}) is not what ${setting} is set from`);
  }
  const sbFile = module(t, 'servicebus.bicep');
  const declared = (type: string, name: string) =>
    sbFile.resources.some((r) => r.type === type && objectEntries(firstObject(r.body)!).get('name') === name);
  if (!declared('Microsoft.ServiceBus/namespaces/queues', 'queueName'))
    problems.push('servicebus.bicep declares no queue named queueName');
  if (!declared('Microsoft.ServiceBus/namespaces/topics', 'topicName'))
    problems.push('servicebus.bicep declares no topic named topicName');
  if (!declared('Microsoft.ServiceBus/namespaces/topics/subscriptions', 'subscriptionName'))
    problems.push('servicebus.bicep declares no subscription named subscriptionName');

  // Failed tasks go to a queue the template creates: the one DeadLetter__Queue names.
  const dlSetting = s.taskmesh.get('DeadLetter__Queue') ?? "''";
  const dlParam = sb.params.get('deadLetterQueueName') ?? "''";
  if (dlSetting !== dlParam)
    problems.push(
      `servicebus module deadLetterQueueName (${dlParam}) is not the value of DeadLetter__Queue (${dlSetting})`,
    );
  // Dead-letter forwarding: a parameter of main.bicep reaches the queue and the subscription.
  if (!sb.params.get('forwardDeadLetteredMessagesTo'))
    problems.push('servicebus module call does not pass forwardDeadLetteredMessagesTo');
  for (const [type, name] of [
    ['Microsoft.ServiceBus/namespaces/queues', 'queueName'],
    ['Microsoft.ServiceBus/namespaces/topics/subscriptions', 'subscriptionName'],
  ] as const) {
    const res = sbFile.resources.find(
      (r) => r.type === type && objectEntries(firstObject(r.body)!).get('name') === name,
    );
    if (res && !/forwardDeadLetteredMessagesTo:[^\n]*\bforwardDeadLetteredMessagesTo\b/.test(res.body))
      problems.push(
        `servicebus.bicep: the ${name} entity does not forward dead letters from forwardDeadLetteredMessagesTo`,
      );
  }

  const st = moduleCall(t, 'storage.bicep');
  const queues = arrayItems(st.params.get('queueNames') ?? '[]');
  const suffix = s.taskmesh.get('AzureStorage__PoisonQueueSuffix') ?? '';
  for (const setting of ['AzureStorage__DispatchQueueName', 'AzureStorage__QueueName']) {
    const expr = s.taskmesh.get(setting) ?? '';
    if (!queues.includes(expr)) problems.push(`storage module does not create the queue of ${setting} (${expr})`);
    if (!queues.includes(`'\${${expr}}\${${suffix}}'`))
      problems.push(`storage module does not create the poison queue of ${setting} ('\${${expr}}\${${suffix}}')`);
  }
  const stFile = module(t, 'storage.bicep');
  const queueRes = stFile.resources.find((r) => r.type === 'Microsoft.Storage/storageAccounts/queueServices/queues');
  if (!queueRes || !/\[\s*for\s+(\w+)\s+in\s+queueNames\s*:/.test(queueRes.body))
    problems.push('storage.bicep does not create a queue per queueNames item');
  return problems;
}

/** host.json-level settings: the app-setting overrides equal the code's settings; host.json equals the code's defaults. */
export function hostProblems(
  t: AzureTemplates,
  hostJson: unknown | undefined,
  defaults: Record<string, Record<string, unknown>>,
): string[] {
  const problems: string[] = [];
  const s = appSettings(t);
  const v = (k: string) => evaluate(s.all.get(k) ?? '', t.scope);
  const pairs: [string, string, (x: unknown) => unknown][] = [
    [
      'AzureFunctionsJobHost__extensions__serviceBus__maxConcurrentCalls',
      'AzureServiceBus__MaxConcurrentCalls',
      Number,
    ],
    ['AzureFunctionsJobHost__extensions__serviceBus__prefetchCount', 'AzureServiceBus__PrefetchCount', Number],
    [
      'AzureFunctionsJobHost__extensions__serviceBus__maxAutoLockRenewalDuration',
      'AzureServiceBus__MaxAutoLockRenewalDuration',
      (x) => parseDuration(String(x)),
    ],
    ['AzureFunctionsJobHost__extensions__queues__maxDequeueCount', 'Ingest__MaxDeliveryCount', Number],
    [
      'AzureFunctionsJobHost__extensions__queues__messageEncoding',
      'AzureStorage__MessageEncoding',
      (x) => (x === 'none' ? 'text' : x),
    ],
  ];
  for (const [host, setting, norm] of pairs) {
    if (!s.all.has(host)) {
      problems.push(`app setting ${host} missing (it binds host.json to ${setting})`);
      continue;
    }
    const hv = norm(v(host));
    const sv = norm(v(setting));
    if (hv === undefined || hv !== sv)
      problems.push(`${host} (${String(v(host))}) does not match ${setting} (${String(v(setting))})`);
    const shared = [...identifiers(s.all.get(host)!)].filter((id) => t.main.params.has(id));
    if (!shared.every((id) => identifiers(s.taskmesh.get(setting) ?? '').has(id)))
      problems.push(`${host} and ${setting} are not set from the same parameter`);
  }
  if (hostJson !== undefined) {
    const h = hostJson as {
      functionTimeout?: unknown;
      extensions?: { serviceBus?: Record<string, unknown>; queues?: Record<string, unknown> };
    };
    // Serverless processors only claim tasks whose timeout fits before the invocation's deadline.
    if (h.functionTimeout !== undefined) {
      const functionMs = parseDuration(String(h.functionTimeout));
      const taskMs = parseDuration(String(v('Worker__TaskTimeout')));
      if (functionMs === undefined || taskMs === undefined || taskMs >= functionMs)
        problems.push(
          `Worker__TaskTimeout (${String(v('Worker__TaskTimeout'))}) must stay below host.json functionTimeout (${String(h.functionTimeout)})`,
        );
    }
    const sb = h.extensions?.serviceBus ?? {};
    const q = h.extensions?.queues ?? {};
    const checks: [string, unknown, unknown][] = [
      ['extensions.serviceBus.maxConcurrentCalls', sb.maxConcurrentCalls, defaults.AzureServiceBus!.MaxConcurrentCalls],
      ['extensions.serviceBus.prefetchCount', sb.prefetchCount, defaults.AzureServiceBus!.PrefetchCount],
      [
        'extensions.serviceBus.maxAutoLockRenewalDuration',
        sb.maxAutoLockRenewalDuration === undefined ? undefined : parseDuration(String(sb.maxAutoLockRenewalDuration)),
        defaults.AzureServiceBus!.MaxAutoLockRenewalDuration,
      ],
      ['extensions.queues.maxDequeueCount', q.maxDequeueCount, defaults.Ingest!.MaxDeliveryCount],
      [
        'extensions.queues.messageEncoding',
        q.messageEncoding === 'none' ? 'text' : q.messageEncoding,
        defaults.AzureStorage!.MessageEncoding,
      ],
    ];
    for (const [path, actual, expected] of checks) {
      if (actual !== undefined && actual !== expected)
        problems.push(
          `host.json ${path} is ${JSON.stringify(actual)}, the code's default is ${JSON.stringify(expected)}`,
        );
    }
  }
  return problems;
}

/** Built-in role definition ids the identity needs. */
export const requiredRoles: Record<string, string> = {
  'Azure Service Bus Data Receiver': '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0',
  'Azure Service Bus Data Sender': '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39',
  'Storage Blob Data Owner': 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  'Storage Queue Data Contributor': '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
  'Monitoring Metrics Publisher': '3913510d-42f4-4e42-8a64-420c390055eb',
  'Key Vault Secrets User': '4633458b-17de-408a-b874-0445c86b69e6',
};

export function roleProblems(t: AzureTemplates): string[] {
  const problems: string[] = [];
  const roles = module(t, 'roles.bicep');
  const roleIds = objectEntries(roles.vars.get('roles') ?? '{}');
  const ids = new Set([...roleIds.values()].map((v) => v.replace(/'/g, '')));
  for (const [name, id] of Object.entries(requiredRoles))
    if (!ids.has(id)) problems.push(`roles.bicep: no ${name} (${id})`);
  const assignments = roles.resources.filter((r) => r.type === 'Microsoft.Authorization/roleAssignments');
  const assigned = new Set(assignments.flatMap((r) => [...r.body.matchAll(/roles\.(\w+)/g)].map((m) => m[1]!)));
  for (const key of roleIds.keys())
    if (!assigned.has(key)) problems.push(`roles.bicep: role ${key} is declared but never assigned`);
  for (const r of assignments) {
    if (!/principalType:\s*'ServicePrincipal'/.test(r.body))
      problems.push(`roles.bicep ${r.symbol}: principalType must be ServicePrincipal`);
    if (
      !/roleDefinitionId:\s*subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions',\s*(roleId|roles\.\w+)\)/.test(
        r.body,
      )
    )
      problems.push(`roles.bicep ${r.symbol}: roleDefinitionId must be a built-in role definition id`);
  }
  return problems;
}

export function allResources(t: AzureTemplates) {
  return [t.main, ...t.modules.values()].flatMap((f) => f.resources);
}

/**
 * What `bicep build` would catch and this reader can: module calls pass only declared parameters and
 * every required one, `<module>.outputs.<name>` exists, API versions are well-formed, and the
 * .bicepparam file assigns only declared parameters and every required one.
 */
export function structureProblems(t: AzureTemplates): string[] {
  const problems: string[] = [];
  const files: [string, BicepFile][] = [
    ['main.bicep', t.main],
    ...[...t.modules].map(([f, m]) => [`modules/${f}`, m] as [string, BicepFile]),
  ];
  for (const call of t.main.modules) {
    const m = t.modules.get(call.path.replace(/^modules\//, ''));
    if (!m) {
      problems.push(`main.bicep: module ${call.symbol} uses ${call.path}, which does not exist`);
      continue;
    }
    for (const p of call.params.keys())
      if (!m.params.has(p))
        problems.push(`main.bicep: module ${call.symbol} passes ${p}, which ${call.path} does not declare`);
    for (const [name, p] of m.params)
      if (p.expr === undefined && !call.params.has(name))
        problems.push(`main.bicep: module ${call.symbol} does not pass the required ${name}`);
  }
  for (const m of t.main.text.matchAll(/\b(\w+)\.outputs\.(\w+)/g)) {
    const call = t.main.modules.find((c) => c.symbol === m[1]);
    const file = call && t.modules.get(call.path.replace(/^modules\//, ''));
    if (!file) problems.push(`main.bicep: ${m[0]} refers to no module`);
    else if (!file.outputs.has(m[2]!)) problems.push(`main.bicep: ${m[0]}: ${call!.path} has no output ${m[2]}`);
  }
  for (const [f, file] of files) {
    for (const r of file.resources) {
      if (!/^\d{4}-\d{2}-\d{2}(-preview)?$/.test(r.apiVersion))
        problems.push(`${f}: ${r.symbol} has API version ${r.apiVersion}`);
      if (!/^Microsoft\.[A-Za-z]+\/[A-Za-z/]+$/.test(r.type))
        problems.push(`${f}: ${r.symbol} has resource type ${r.type}`);
    }
  }
  if (t.params.using !== './main.bicep') problems.push(`main.bicepparam: using ${t.params.using}, not './main.bicep'`);
  for (const p of t.params.params.keys())
    if (!t.main.params.has(p)) problems.push(`main.bicepparam assigns ${p}, which main.bicep does not declare`);
  for (const [name, p] of t.main.params)
    if (p.expr === undefined && !t.params.params.has(name))
      problems.push(`main.bicepparam does not assign the required ${name}`);
  return problems;
}

/** The Flex Consumption app: FC1 plan, Node.js 20 runtime, identity-based deployment storage. */
export function functionAppProblems(t: AzureTemplates): string[] {
  const problems: string[] = [];
  const f = module(t, 'functionapp.bicep');
  const body = (type: string) => {
    const r = f.resources.find((x) => x.type === type);
    return r ? objectEntries(firstObject(r.body)!) : undefined;
  };
  const plan = body('Microsoft.Web/serverfarms');
  const sku = plan?.get('sku') ? objectEntries(plan.get('sku')!) : undefined;
  if (sku?.get('name') !== "'FC1'" || sku.get('tier') !== "'FlexConsumption'")
    problems.push('the plan must be sku FC1 / FlexConsumption');
  const site = body('Microsoft.Web/sites');
  if (!site) return [...problems, 'no Microsoft.Web/sites'];
  if (site.get('kind') !== "'functionapp,linux'") problems.push(`site kind is ${site.get('kind')}`);
  const props = objectEntries(site.get('properties') ?? '{}');
  const config = objectEntries(props.get('functionAppConfig') ?? '{}');
  const runtime = objectEntries(config.get('runtime') ?? '{}');
  if (runtime.get('name') !== "'node'" || runtime.get('version') !== "'20'")
    problems.push('functionAppConfig.runtime must be node 20');
  const storage = objectEntries(objectEntries(config.get('deployment') ?? '{deployment: {}}').get('storage') ?? '{}');
  if (storage.get('type') !== "'blobContainer'") problems.push('deployment storage must be a blob container');
  if (!/type:\s*'UserAssignedIdentity'/.test(storage.get('authentication') ?? ''))
    problems.push('deployment storage must authenticate with the user-assigned identity');
  const scale = objectEntries(config.get('scaleAndConcurrency') ?? '{}');
  if (!scale.has('instanceMemoryMB') || !scale.has('maximumInstanceCount'))
    problems.push('scaleAndConcurrency must set instanceMemoryMB and maximumInstanceCount');
  if (props.get('keyVaultReferenceIdentity') !== 'identityId')
    problems.push('keyVaultReferenceIdentity must be the user-assigned identity');
  const settings = f.resources.find((x) => x.type === 'Microsoft.Web/sites/config');
  if (!settings || !/name:\s*'appsettings'/.test(settings.body) || !/properties:\s*appSettings\b/.test(settings.body))
    problems.push('app settings must be applied with sites/config appsettings');
  for (const forbidden of [
    'FUNCTIONS_WORKER_RUNTIME',
    'FUNCTIONS_EXTENSION_VERSION',
    'WEBSITE_NODE_DEFAULT_VERSION',
    'WEBSITE_RUN_FROM_PACKAGE',
    'WEBSITE_CONTENTSHARE',
    'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING',
    'AzureWebJobsStorage',
  ]) {
    if (appSettings(t).all.has(forbidden))
      problems.push(`app setting ${forbidden} is not allowed on Flex Consumption / with identity-based storage`);
  }
  return problems;
}
