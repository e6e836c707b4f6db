/**
 * The drift checks themselves: each one, given a deliberately drifted copy of the code's facts or of
 * a template, reports the drift (a check that passes everything would keep the other tests green
 * while templates rot).
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/index.js';
import { schedules } from '../../lib/app/catalog.js';
import * as aliyun from './support/aliyun.js';
import * as azure from './support/azure.js';
import { evaluate, parseBicep } from './support/bicep.js';
import {
  currentExpectations,
  differencesFromDefaults,
  loadProblems,
  missingSettings,
  ncrontabToFiveField,
  providerProblems,
  repoPath,
  scheduleProblems,
  settingsFor,
  unknownSettings,
  type Expectations,
} from './support/drift.js';
import { evalTfExpr, loadTerraform, type TerraformConfig } from './support/hcl.js';
import { aliyunIntended, azureIntended, kubernetesIntended } from './support/intended.js';
import { findObject, type K8sObject } from './support/k8s.js';
import * as k8s from './support/kubernetes.js';

const exp = currentExpectations();
const FAKE = 'Worker__FakeSettingForDriftTest';
const withFake: Expectations = { ...exp, settings: [...exp.settings, FAKE] };
/** A key added to a queue provider's section: demanded only of the templates that run that provider. */
const withProviderFake = (provider: string, setting: string): Expectations => ({
  ...exp,
  settings: [...exp.settings, setting],
  providerSettings: { ...exp.providerSettings, [provider]: [...(exp.providerSettings[provider] ?? []), setting] },
});

const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

/** infra/aliyun copied to a temporary directory with one file edited. */
async function driftedTerraform(file: string, edit: (text: string) => string): Promise<TerraformConfig> {
  const dir = mkdtempSync(join(tmpdir(), 'taskmesh-infra-'));
  temps.push(dir);
  const src = repoPath('infra', 'aliyun');
  for (const f of readdirSync(src).filter((x) => x.endsWith('.tf'))) copyFileSync(join(src, f), join(dir, f));
  const text = readFileSync(join(dir, file), 'utf8');
  const edited = edit(text);
  if (edited === text) throw new Error(`the edit of ${file} changed nothing`);
  writeFileSync(join(dir, file), edited);
  return loadTerraform(dir);
}

function driftedMain(edit: (text: string) => string): azure.AzureTemplates {
  const t = azure.loadAzure();
  const before = readFileSync(repoPath('infra', 'azure', 'main.bicep'), 'utf8');
  if (edit(before) === before) throw new Error('the edit of main.bicep changed nothing');
  return azure.withMain(t, edit);
}

const cloneObjects = (objects: readonly K8sObject[]) => structuredClone(objects) as K8sObject[];

describe('generic checks', () => {
  it('report a setting the code reads that a template lacks, and one a template sets that the code does not read', () => {
    expect(missingSettings([...exp.settings, FAKE], exp.settings)).toEqual([FAKE]);
    expect(
      missingSettings(
        exp.settings,
        exp.settings.map((s) => s.toUpperCase()),
      ),
    ).toEqual([]);
    expect(
      unknownSettings(
        ['Worker__BatchSise', 'AzureServiceBus__credential', 'Other__Thing'],
        exp.settings,
        azure.connectionProperties,
      ),
    ).toEqual(['Worker__BatchSise']);
  });

  it('report values the code rejects, and values that differ from its defaults', () => {
    expect(loadProblems({ Worker__BatchSize: 'ten' })).toHaveLength(1);
    expect(loadProblems({ Worker__BatchSize: '' })).toEqual([]); // empty means "not set": the default applies
    expect(loadProblems({ Worker__BatchSize: '12' })).toEqual([]);
    expect(differencesFromDefaults({ Worker__BatchSize: '12', Worker__MaxRetries: '3' })).toEqual([
      'Worker__BatchSize',
    ]);
  });

  it('report a schedule that differs, is missing or is extra', () => {
    expect(
      scheduleProblems(
        't',
        { a: '0 */1 * * * *', b: '30 */1 * * * *' },
        { a: '0 */1 * * * *', b: '30 */2 * * * *', c: '0 0 * * * *' },
      ),
    ).toHaveLength(2);
    expect(scheduleProblems('t', { a: '0 */1 * * * *' }, {})).toHaveLength(1);
  });

  it('translate NCRONTAB to 5-field cron only when it fires at most once a minute', () => {
    expect(ncrontabToFiveField(schedules.reclaimer)).toBe('*/1 * * * *');
    expect(ncrontabToFiveField('0 0 4 * * *')).toBe('0 4 * * *');
    expect(() => ncrontabToFiveField('*/10 * * * * *')).toThrow(/more than once a minute/);
    expect(() => ncrontabToFiveField('* * * * *')).toThrow(/6 fields/);
  });

  it('evaluate the template expressions they rely on', () => {
    const b = parseBicep("param a int = 5\nparam e string = 'text'\nparam f bool = false\nvar s = '${a}-${e}'\n");
    const scope = { params: b.params, vars: b.vars };
    expect(evaluate('s', scope)).toBe('5-text');
    expect(evaluate('string(a)', scope)).toBe('5');
    expect(evaluate("e == 'text' ? 'none' : 'base64'", scope)).toBe('none');
    expect(evaluate("f ? 'true' : 'false'", scope)).toBe('false');
    expect(evaluate('foo.outputs.bar', scope)).toBeUndefined();
  });
});

describe('queue provider declarations', () => {
  it("demand a provider's settings only of the templates that run it", () => {
    expect(settingsFor(exp, ['mns'])).toContain('Aliyun__QueueName');
    expect(settingsFor(exp, ['mns'])).not.toContain('AzureServiceBus__QueueName');
    expect(settingsFor(exp, ['mns'])).toContain('Worker__BatchSize');
  });

  it('report an unregistered provider, an Ingest__Provider the template does not declare, and settings of a provider it does not run', () => {
    expect(providerProblems('t', exp, ['rabbitmq'], 'rabbitmq', [])).toEqual([
      't: declares queue provider rabbitmq, which is not registered',
    ]);
    expect(providerProblems('t', exp, ['mns'], 'service-bus', [])).toEqual([
      't: Ingest__Provider selects service-bus, which the template does not declare among its queue providers (mns)',
    ]);
    expect(
      providerProblems('t', exp, ['mns'], 'mns', [
        'Aliyun__QueueName',
        'AzureServiceBus__QueueName',
        'Worker__BatchSize',
      ]),
    ).toEqual([
      't: sets AzureServiceBus__QueueName, a setting of queue provider service-bus, which the template does not deploy',
    ]);
  });
});

describe('infra/azure checks', () => {
  const t = azure.loadAzure();

  it("report a setting the code reads that the app settings lack (an extra key in the code's settings)", () => {
    expect(azure.settingsProblems(t, withFake)).toEqual([`main.bicep taskmeshSettings: missing setting ${FAKE}`]);
  });

  it('report a new setting of a provider Azure runs, not one of a provider it does not run; and a provider setting it should not set', () => {
    expect(azure.settingsProblems(t, withProviderFake('service-bus', 'AzureServiceBus__Fake'))).toEqual([
      'main.bicep taskmeshSettings: missing setting AzureServiceBus__Fake',
    ]);
    expect(azure.settingsProblems(t, withProviderFake('mns', 'Aliyun__Fake'))).toEqual([]);
    const undeclared = driftedMain((s) => s.replace("  'storage-queue'\n]", ']'));
    expect(azure.settingsProblems(undeclared, exp).join('\n')).toMatch(
      /sets AzureStorage__QueueName, a setting of queue provider storage-queue, which the template does not deploy/,
    );
    const ingestElsewhere = driftedMain((s) => s.replace("Ingest__Provider: 'service-bus'", "Ingest__Provider: 'mns'"));
    expect(azure.settingsProblems(ingestElsewhere, exp)).toEqual([
      'main.bicep: Ingest__Provider selects mns, which the template does not declare among its queue providers (service-bus, storage-queue)',
    ]);
  });

  it('report an app setting removed from, misspelled in or duplicated in main.bicep', () => {
    const removed = driftedMain((s) => s.replace(/^\s*Worker__HeartbeatTimeout: .*$/m, ''));
    expect(azure.settingsProblems(removed, exp)).toEqual([
      'main.bicep taskmeshSettings: missing setting Worker__HeartbeatTimeout',
    ]);
    const misspelled = driftedMain((s) => s.replace('Worker__HeartbeatTimeout:', 'Worker__HeartbeatTimout:'));
    expect(azure.settingsProblems(misspelled, exp).join('\n')).toMatch(/Worker__HeartbeatTimout is not a setting/);
    const duplicated = driftedMain((s) => s.replace("  Admin__ApiKey: ''", "  Admin__ApiKey: ''\n  admin__apikey: ''"));
    expect(azure.settingsProblems(duplicated, exp).join('\n')).toMatch(/duplicate setting Admin__ApiKey/);
  });

  it("report a parameter default that drifted from the code's default, and a value the code rejects", () => {
    const drifted = driftedMain((s) =>
      s.replace('param serviceBusMaxDeliveryCount int = 10', 'param serviceBusMaxDeliveryCount int = 7'),
    );
    expect(azure.valueProblems(drifted, exp, Object.keys(azureIntended)).join('\n')).toMatch(
      /AzureServiceBus__MaxDeliveryCount="7"/,
    );
    const rejected = driftedMain((s) => s.replace("Worker__Concurrency: '10'", "Worker__Concurrency: ''"));
    expect(azure.valueProblems(rejected, exp, Object.keys(azureIntended)).join('\n')).toMatch(/Worker__Concurrency/);
  });

  it('report a secret set in clear, and a queue setting no longer bound to the declared queue', () => {
    const clear = driftedMain((s) =>
      s.replace(/MongoDB__ConnectionString: '[^\n]*'/, 'MongoDB__ConnectionString: mongoDbConnectionString'),
    );
    expect(azure.secretProblems(clear, exp).join('\n')).toMatch(
      /MongoDB__ConnectionString must be a Key Vault reference/,
    );
    const unbound = driftedMain((s) =>
      s.replace('AzureServiceBus__QueueName: serviceBusQueueName', "AzureServiceBus__QueueName: 'other'"),
    );
    expect(azure.queueProblems(unbound).join('\n')).toMatch(/AzureServiceBus__QueueName/);
    const dlUnbound = driftedMain((s) =>
      s.replace('DeadLetter__Queue: taskDeadLetterQueueName', "DeadLetter__Queue: 'elsewhere'"),
    );
    expect(azure.queueProblems(dlUnbound).join('\n')).toMatch(
      /deadLetterQueueName .* is not the value of DeadLetter__Queue/,
    );
    const noForward = driftedMain((s) =>
      s.replace('    forwardDeadLetteredMessagesTo: serviceBusForwardDeadLetteredMessagesTo\n', ''),
    );
    expect(azure.queueProblems(noForward).join('\n')).toMatch(/does not pass forwardDeadLetteredMessagesTo/);
    const noDispatch = driftedMain((s) => s.replace('      storageDispatchQueueName\n', ''));
    expect(azure.queueProblems(noDispatch).join('\n')).toMatch(
      /does not create the queue of AzureStorage__DispatchQueueName/,
    );
  });

  it('report a Service Bus trigger whose sessions do not follow the entities', () => {
    const t = azure.loadAzure();
    const fns = exp.azureFunctions.map((f) => ({ ...f, sessionsSetting: undefined }));
    expect(azure.sessionProblems(t, { azureFunctions: fns }).join('\n')).toMatch(
      /ingest-servicebus-queue: no sessions/,
    );
    const unbound = driftedMain((s) =>
      s.replace(
        "AzureServiceBus__RequiresSession: serviceBusRequiresSession ? 'true' : 'false'",
        "AzureServiceBus__RequiresSession: 'false'",
      ),
    );
    expect(azure.sessionProblems(unbound, exp).join('\n')).toMatch(
      /ingest-servicebus-topic: app setting AzureServiceBus__RequiresSession .* requiresSession/,
    );
  });

  it('report a trigger whose queue setting or connection is gone, and host.json drift', () => {
    const noTopic = driftedMain((s) =>
      s.replace('AzureServiceBus__TopicName: serviceBusTopicName', "AzureServiceBus__TopicName: ''"),
    );
    expect(azure.triggerProblems(noTopic, exp).join('\n')).toMatch(
      /ingest-servicebus-topic: app setting AzureServiceBus__TopicName is empty/,
    );
    const noCredential = driftedMain((s) =>
      s.replace("AzureServiceBus__credential: 'managedidentity'", "AzureServiceBus__credential: 'connectionstring'"),
    );
    expect(azure.triggerProblems(noCredential, exp).join('\n')).toMatch(/AzureServiceBus__credential/);
    const defaults = loadConfig({ env: {} }) as unknown as Record<string, Record<string, unknown>>;
    const host = { extensions: { serviceBus: { prefetchCount: 7 }, queues: { messageEncoding: 'none' } } };
    expect(azure.hostProblems(t, host, defaults)).toHaveLength(2);
    expect(azure.hostProblems(t, { functionTimeout: '00:04:00' }, defaults).join('\n')).toMatch(
      /Worker__TaskTimeout .* must stay below host.json functionTimeout/,
    );
    const unboundHost = driftedMain((s) =>
      s.replace(
        'AzureFunctionsJobHost__extensions__serviceBus__prefetchCount: string(serviceBusPrefetchCount)',
        "AzureFunctionsJobHost__extensions__serviceBus__prefetchCount: '8'",
      ),
    );
    expect(azure.hostProblems(unboundHost, undefined, defaults).join('\n')).toMatch(/prefetchCount/);
  });
});

describe('infra/aliyun checks', () => {
  let cfg: TerraformConfig;
  beforeAll(async () => {
    cfg = await aliyun.loadAliyun();
  });

  it("report a setting the code reads that the environment lacks (an extra key in the code's settings)", () => {
    expect(aliyun.settingsProblems(cfg, withFake)).toEqual([`local.environment: missing setting ${FAKE}`]);
  });

  it('report a new setting of MNS, not one of a provider Function Compute does not run; and a setting of such a provider', async () => {
    expect(aliyun.settingsProblems(cfg, withProviderFake('mns', 'Aliyun__Fake'))).toEqual([
      'local.environment: missing setting Aliyun__Fake',
    ]);
    expect(aliyun.settingsProblems(cfg, withProviderFake('service-bus', 'AzureServiceBus__Fake'))).toEqual([]);
    const extra = await driftedTerraform('main.tf', (s) =>
      s.replace(
        /^(\s*)Admin__ApiKey = var.admin_api_key$/m,
        '$1Admin__ApiKey = var.admin_api_key\n$1AzureServiceBus__QueueName = ""',
      ),
    );
    expect(aliyun.settingsProblems(extra, exp)).toEqual([
      'infra/aliyun: sets AzureServiceBus__QueueName, a setting of queue provider service-bus, which the template does not deploy',
    ]);
  });

  it("report an environment variable removed from main.tf, and a value drifted from the code's default", async () => {
    const removed = await driftedTerraform('main.tf', (s) => s.replace(/^\s*Retention__PurgeAfter\s*=.*$/m, ''));
    expect(aliyun.settingsProblems(removed, exp)).toEqual(['local.environment: missing setting Retention__PurgeAfter']);
    const drifted = await driftedTerraform('main.tf', (s) => s.replace(/(Worker__MaxRetries\s*=\s*)"3"/, '$1"4"'));
    expect(aliyun.valueProblems(drifted, exp, Object.keys(aliyunIntended)).join('\n')).toMatch(
      /Worker__MaxRetries="4"/,
    );
  });

  it('report a timer schedule that drifted from the catalog, and a catalog function without a resource', async () => {
    const drifted = await driftedTerraform('functions.tf', (s) =>
      s.replace(/(reclaimer\s*=\s*)"30 \*\/1 \* \* \* \*"/, '$1"45 */1 * * * *"'),
    );
    expect(aliyun.triggerProblems(drifted, exp)).toEqual([
      `infra/aliyun timers: reclaimer runs "45 */1 * * * *", the catalog says "${schedules.reclaimer}"`,
    ]);
    const extra: Expectations = {
      ...exp,
      aliyunFunctions: [
        ...exp.aliyunFunctions,
        { name: 'exporter', trigger: 'timer', schedule: '0 0 * * * *', purpose: 'test' },
      ],
    };
    expect(aliyun.functionProblems(cfg, extra).join('\n')).toMatch(/exporter/);
    expect(aliyun.triggerProblems(cfg, extra).join('\n')).toMatch(/no timer for exporter/);
  });

  it('report a dead-letter policy or queue name that drifted from the code', async () => {
    const d = loadConfig({ env: {} }).Aliyun;
    expect(aliyun.queueProblems(cfg, { ...d, MaxReceiveCount: 6 }).join('\n')).toMatch(/mns_max_receive_count/);
    const renamed = await driftedTerraform('variables.tf', (s) =>
      s.replace(/(default\s*=\s*)"tasks-dlq"/, '$1"dead-letters"'),
    );
    expect(aliyun.queueProblems(renamed, d).join('\n')).toMatch(/mns_dead_letter_queue_name/);
  });

  it('report a RAM permission the functions do not use', async () => {
    const broad = await driftedTerraform('ram.tf', (s) =>
      s.replace('"mns:GetQueueAttributes",', '"mns:GetQueueAttributes",\n      "mns:DeleteQueue",'),
    );
    expect(aliyun.ramProblems(broad, exp)).toEqual([
      'the policy grants mns:DeleteQueue, which the functions do not use',
    ]);
  });

  it('evaluate the expressions they rely on', () => {
    expect(evalTfExpr('local.function_timeout_seconds + 60', cfg)).toBe(660);
    expect(evalTfExpr('tostring(var.mns_max_receive_count)', cfg)).toBe('5');
    expect(evalTfExpr('alicloud_message_service_queue.tasks.queue_name', cfg)).toBe('tasks');
    expect(evalTfExpr('data.alicloud_account.current.id', cfg)).toBeUndefined();
  });
});

describe('infra/kubernetes checks', () => {
  const { objects } = k8s.loadKubernetes();

  it("report a setting the code reads that the ConfigMap and Secret lack (an extra key in the code's settings)", () => {
    expect(k8s.settingsProblems(objects, withFake)).toEqual([`ConfigMap + Secret: missing setting ${FAKE}`]);
  });

  it('demand the settings of the provider the ConfigMap selects, and only those', () => {
    expect(k8s.settingsProblems(objects, withProviderFake('storage-queue', 'AzureStorage__Fake'))).toEqual([
      'ConfigMap + Secret: missing setting AzureStorage__Fake',
    ]);
    expect(k8s.settingsProblems(objects, withProviderFake('mns', 'Aliyun__Fake'))).toEqual([]);
    const mns = cloneObjects(objects);
    (findObject(mns, 'ConfigMap').data as Record<string, string>).Ingest__Provider = 'mns';
    const problems = k8s.settingsProblems(mns, exp);
    expect(problems).toContain('ConfigMap + Secret: missing setting Aliyun__QueueName');
    expect(problems).toContain(
      'infra/kubernetes: sets AzureStorage__QueueName, a setting of queue provider storage-queue, which the template does not deploy',
    );
  });

  it("report a setting removed, a secret in the ConfigMap, and a value drifted from the code's default", () => {
    const removed = cloneObjects(objects);
    delete (findObject(removed, 'ConfigMap').data as Record<string, string>).Worker__TaskTimeout;
    expect(k8s.settingsProblems(removed, exp)).toEqual(['ConfigMap + Secret: missing setting Worker__TaskTimeout']);
    const leaked = cloneObjects(objects);
    const secret = findObject(leaked, 'Secret').stringData as Record<string, string>;
    (findObject(leaked, 'ConfigMap').data as Record<string, string>).Admin__ApiKey = secret.Admin__ApiKey!;
    delete secret.Admin__ApiKey;
    expect(k8s.settingsProblems(leaked, exp).join('\n')).toMatch(/ConfigMap holds the secret setting Admin__ApiKey/);
    const drifted = cloneObjects(objects);
    (findObject(drifted, 'ConfigMap').data as Record<string, string>).Worker__BatchSize = '25';
    expect(k8s.valueProblems(drifted, Object.keys(kubernetesIntended))).toEqual([
      'ConfigMap sets Worker__BatchSize="25", which differs from the code\'s default',
    ]);
  });

  it('report a grace period that does not cover preStop + Worker__ShutdownTimeout, and missing downward-API variables', () => {
    const short = cloneObjects(objects);
    const deployment = findObject(short, 'Deployment', k8s.names.deployment);
    const pod = (
      deployment.spec as {
        template: { spec: { terminationGracePeriodSeconds: number; containers: { env: { name: string }[] }[] } };
      }
    ).template.spec;
    pod.terminationGracePeriodSeconds = 30;
    pod.containers[0]!.env = pod.containers[0]!.env.filter((e) => e.name !== 'INSTANCE_ID');
    const problems = k8s.deploymentProblems(short).join('\n');
    expect(problems).toMatch(/terminationGracePeriodSeconds 30 does not exceed/);
    expect(problems).toMatch(/INSTANCE_ID/);
  });

  it("report a reclaimer CronJob off the catalog's cadence", () => {
    const drifted = cloneObjects(objects);
    (findObject(drifted, 'CronJob').spec as { schedule: string }).schedule = '*/5 * * * *';
    expect(k8s.cronJobProblems(drifted, schedules.reclaimer).join('\n')).toMatch(/runs "\*\/5 \* \* \* \*"/);
    expect(k8s.cronJobProblems(objects, '30 */2 * * * *').join('\n')).toMatch(/translates to "\*\/2 \* \* \* \*"/);
  });
});
