/**
 * infra/azure (Bicep) against the code: every setting lib/config reads is an app setting with a value
 * the code accepts, secrets are Key Vault references, the triggers of the catalog find their queue
 * settings and identity-based connections, every queue the code uses is declared, host.json and the
 * code agree, and the identity has the roles it needs. No Bicep parser installs from npm, so the
 * templates are read structurally (support/bicep.ts); with the Bicep CLI on the PATH they are also
 * built.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/index.js';
import * as azure from './support/azure.js';
import { currentExpectations, repoPath } from './support/drift.js';
import { azureCodeConnections, hostJsonPath, onPath, run } from './support/tools.js';
import { azureIntended } from './support/intended.js';

const exp = currentExpectations();
const t = azure.loadAzure();
const bicep = onPath('bicep') ? 'bicep' : [join(homedir(), '.azure', 'bin', 'bicep')].find((p) => existsSync(p));

describe('infra/azure (Bicep)', () => {
  it('is consistent: module parameters and outputs, API versions, the parameters file', () => {
    expect(azure.structureProblems(t)).toEqual([]);
  });

  it('sets every setting the code reads (settingNames()) as an app setting, and no unknown one', () => {
    expect(azure.settingsProblems(t, exp)).toEqual([]);
  });

  it('sets values the code accepts, equal to its defaults except where intended', () => {
    expect(azure.valueProblems(t, exp, Object.keys(azureIntended))).toEqual([]);
  });

  it('keeps secrets out of app settings: Key Vault references or empty, no keys', () => {
    expect(azure.secretProblems(t, exp)).toEqual([]);
  });

  it('gives every trigger of the catalog its queue settings and an identity-based connection', () => {
    expect(azure.triggerProblems(t, exp, azureCodeConnections())).toEqual([]);
  });

  it('makes the Service Bus triggers session-enabled from the same parameter as the entities', () => {
    expect(azure.sessionProblems(t, exp)).toEqual([]);
  });

  it('declares every queue the code uses (Service Bus queue, topic, subscription; storage queues), from the same parameters as the settings', () => {
    expect(azure.queueProblems(t)).toEqual([]);
  });

  it("keeps host.json-level settings equal to the code's (app-setting overrides and host.json)", () => {
    const path = hostJsonPath();
    const hostJson = path ? (JSON.parse(readFileSync(path, 'utf8')) as unknown) : undefined;
    const defaults = loadConfig({ env: {} }) as unknown as Record<string, Record<string, unknown>>;
    expect(azure.hostProblems(t, hostJson, defaults)).toEqual([]);
  });

  it('grants the managed identity the built-in roles it needs (real role definition ids)', () => {
    expect(azure.roleProblems(t)).toEqual([]);
  });

  it('runs on Flex Consumption (FC1) with Node.js 20 and identity-based deployment storage', () => {
    expect(azure.functionAppProblems(t)).toEqual([]);
  });

  it('outputs what a deployer needs', () => {
    const outputs = [...t.main.outputs.keys()];
    for (const name of [
      'functionAppName',
      'functionAppDefaultHostName',
      'serviceBusNamespace',
      'serviceBusQueueName',
      'serviceBusTopicName',
      'serviceBusSubscriptionName',
      'storageDispatchQueueName',
      'appInsightsConnectionStringSetting',
      'keyVaultName',
    ]) {
      expect(outputs).toContain(name);
    }
    expect(t.main.outputs.get('appInsightsConnectionStringSetting')?.expr).toBe(
      "'APPLICATIONINSIGHTS_CONNECTION_STRING'",
    );
    expect(azure.appSettings(t).all.has('APPLICATIONINSIGHTS_CONNECTION_STRING')).toBe(true);
  });

  // With the Bicep CLI on the machine (on the PATH, or where `az bicep install` puts it), build for real.
  it.skipIf(!bicep)('builds with the Bicep CLI', () => {
    const r = run(bicep!, ['build', repoPath('infra', 'azure', 'main.bicep'), '--stdout']);
    expect(r.stderr.split('\n').filter((l) => /\bError\b/i.test(l))).toEqual([]);
    expect(r.status).toBe(0);
  });
});
