/**
 * The settings the code reads (`settingNames()` over lib/config `sections`, read at test time) against
 * everything that sets them: local.settings.example.json and the three deployment templates, side by
 * side. A section or key added to lib/config fails here until every one of them sets it.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { sections } from '../../lib/config/index.js';
import * as aliyun from './support/aliyun.js';
import * as azure from './support/azure.js';
import { caseDuplicates, currentExpectations, exists, loadProblems, missingSettings, repoPath, unknownSettings } from './support/drift.js';
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

  it('are all set by every deployment template', () => {
    const templates: Record<string, string[]> = {
      'infra/azure (app settings)': [...azure.appSettings(azure.loadAzure()).taskmesh.keys()],
      'infra/aliyun (function environment)': Object.keys(aliyun.environment(tf)),
      'infra/kubernetes (ConfigMap + Secret)': (() => {
        const { objects } = k8s.loadKubernetes();
        return [...Object.keys(k8s.configMapData(objects)), ...Object.keys(k8s.secretData(objects))];
      })(),
    };
    const missing = Object.fromEntries(Object.entries(templates).map(([where, names]) => [where, missingSettings(exp.settings, names)]));
    expect(missing).toEqual(Object.fromEntries(Object.keys(templates).map((k) => [k, []])));
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
    const env = Object.fromEntries(Object.entries(values).filter(([k, v]) => typeof v === 'string' && exp.settings.includes(k) && !exp.secrets.has(k)) as [string, string][]);
    expect(loadProblems(env)).toEqual([]);
  });
});
