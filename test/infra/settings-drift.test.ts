/**
 * The settings the code reads (`settingNames()` over lib/config `sections`, read at test time) against
 * everything that sets them: local.settings.example.json and the three deployment templates, side by
 * side. A section or key added to lib/config fails here until every one of them sets it; a queue
 * provider's settings only until the templates that run that provider set them.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { sections } from '../../lib/config/index.js';
import * as aliyun from './support/aliyun.js';
import * as azure from './support/azure.js';
import {
  caseDuplicates,
  currentExpectations,
  exists,
  loadProblems,
  missingSettings,
  repoPath,
  settingsFor,
  unknownSettings,
} from './support/drift.js';
import type { TerraformConfig } from './support/hcl.js';
import * as k8s from './support/kubernetes.js';

const exp = currentExpectations();
const localSettings = 'local.settings.example.json';
let tf: TerraformConfig;

beforeAll(async () => {
  tf = await aliyun.loadAliyun();
});

describe('settings the code reads', () => {
  it('come from lib/config sections (every key of every section, as Section__Key)', () => {
    const count = Object.values(sections).reduce((n, s) => n + Object.keys(s.schema.shape).length, 0);
    expect(exp.settings.length).toBe(count);
    expect(exp.settings.every((s) => /^[A-Za-z0-9]+__[A-Za-z0-9]+$/.test(s))).toBe(true);
  });

  it('are set by every deployment template: all but those of queue providers it does not run', () => {
    const t = azure.loadAzure();
    const { objects } = k8s.loadKubernetes();
    const templates: Record<string, { names: string[]; providers: string[] }> = {
      'infra/azure (app settings)': {
        names: [...azure.appSettings(t).taskmesh.keys()],
        providers: azure.queueProviders(t),
      },
      'infra/aliyun (function environment)': {
        names: Object.keys(aliyun.environment(tf)),
        providers: aliyun.queueProviders(tf),
      },
      'infra/kubernetes (ConfigMap + Secret)': {
        names: [...Object.keys(k8s.configMapData(objects)), ...Object.keys(k8s.secretData(objects))],
        providers: k8s.queueProviders(objects),
      },
    };
    const missing = Object.fromEntries(
      Object.entries(templates).map(([where, x]) => [where, missingSettings(settingsFor(exp, x.providers), x.names)]),
    );
    expect(missing).toEqual(Object.fromEntries(Object.keys(templates).map((k) => [k, []])));
  });

  it('of the queue providers are demanded as the templates declare them: Azure service-bus + storage-queue, Alibaba mns, Kubernetes its Ingest__Provider', () => {
    expect(azure.queueProviders(azure.loadAzure())).toEqual(['service-bus', 'storage-queue']);
    expect(aliyun.queueProviders(tf)).toEqual(['mns']);
    expect(k8s.queueProviders(k8s.loadKubernetes().objects)).toEqual(['storage-queue']);
  });

  // local.settings.example.json (the Azure Functions Core Tools settings, repository root) is written
  // with the Azure Functions app; until it exists this check is skipped.
  it.skipIf(!exists(localSettings))(`are all in ${localSettings} (Values), with values the code accepts`, () => {
    const file = JSON.parse(readFileSync(repoPath(localSettings), 'utf8')) as { Values?: Record<string, unknown> };
    const values = file.Values ?? {};
    const names = Object.keys(values);
    expect(missingSettings(exp.settings, names)).toEqual([]);
    expect(unknownSettings(names, exp.settings, azure.connectionProperties)).toEqual([]);
    expect(caseDuplicates(names)).toEqual([]);
    const env = Object.fromEntries(
      Object.entries(values).filter(
        ([k, v]) => typeof v === 'string' && exp.settings.includes(k) && !exp.secrets.has(k),
      ) as [string, string][],
    );
    expect(loadProblems(env)).toEqual([]);
  });
});
