/**
 * infra/azure against the ARM models Microsoft publishes in the @azure/arm-* SDKs: every resource
 * type has a create (PUT) operation in one of them, and every property a resource body sets, nested
 * ones included, is in that operation's request body model. The checks run on the real templates and
 * on copies with a planted mistake to show that they fail.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoPath } from './support/drift.js';
import { bicepSchemaReport, bicepTypeMapping, type NewerThanSdk } from './support/schemas/bicep-arm.js';

const dir = repoPath('infra', 'azure');
const copies: string[] = [];

/**
 * @azure/arm-servicebus (its newest release) models api-version 2021-11-01; the template uses
 * 2024-01-01, whose namespace properties include these (Microsoft.ServiceBus 2022-01-01-preview and
 * later, per the ARM template reference). Checked by reading; the check accepts nothing else.
 */
const newerThanSdk: NewerThanSdk = {
  'Microsoft.ServiceBus/namespaces': {
    'properties.minimumTlsVersion': '2022-01-01-preview',
    'properties.publicNetworkAccess': '2022-01-01-preview',
  },
};

function plant(file: string, edit: (text: string) => string): string {
  const copy = mkdtempSync(join(tmpdir(), 'azure-schema-'));
  copies.push(copy);
  cpSync(dir, copy, { recursive: true });
  const before = readFileSync(join(copy, file), 'utf8');
  const after = edit(before);
  if (after === before) throw new Error(`the planted edit of ${file} changed nothing`);
  writeFileSync(join(copy, file), after);
  return copy;
}

afterAll(() => {
  for (const c of copies) rmSync(c, { recursive: true, force: true });
});

describe('infra/azure against the ARM models of the @azure/arm-* SDKs', () => {
  it("finds every resource type's create operation in an installed SDK", async () => {
    const mapping = await bicepTypeMapping(dir);
    expect(Object.entries(mapping).filter(([, v]) => v === 'unknown')).toEqual([]);
    expect(mapping['Microsoft.Web/sites/config@2024-04-01']).toMatch(/@azure\/arm-appservice .*\/config\/appsettings$/);
    expect(mapping['Microsoft.Insights/scheduledQueryRules@2023-12-01']).toMatch(/^@azure\/arm-monitor /);
    expect(mapping['Microsoft.Insights/workbooks@2023-06-01']).toMatch(/^@azure\/arm-appinsights /);
  });

  it('sets only properties the models declare (the exceptions for an older SDK are all still needed)', async () => {
    const report = await bicepSchemaReport(dir, newerThanSdk);
    expect(report.problems).toEqual([]);
    const listed = Object.entries(newerThanSdk).flatMap(([type, props]) =>
      Object.keys(props).map((p) => `${type} ${p}`),
    );
    expect(report.acceptedByReading.sort()).toEqual(listed.sort());
  });

  it('fails on a misspelt property, naming the file, the resource and the property', async () => {
    const copy = plant('modules/servicebus.bicep', (s) =>
      s.replace(
        '    deadLetteringOnFilterEvaluationExceptions: true',
        '    deadLetteringOnFilterEvaluationException: true',
      ),
    );
    expect((await bicepSchemaReport(copy, newerThanSdk)).problems).toEqual([
      `${copy}/modules/servicebus.bicep: resource subscription 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2024-01-01': properties.deadLetteringOnFilterEvaluationException is not a property of SBSubscription.properties`,
    ]);
  });

  it('fails on misspelt nested properties, a wrong case, an unknown discriminator value and an unknown type', async () => {
    const nested = plant('modules/functionapp.bicep', (s) =>
      s
        .replace("            type: 'UserAssignedIdentity'", "            typ: 'UserAssignedIdentity'")
        .replace('instanceMemoryMB: instanceMemoryMB', 'instanceMemoryMb: instanceMemoryMB'),
    );
    expect((await bicepSchemaReport(nested, newerThanSdk)).problems).toEqual([
      `${nested}/modules/functionapp.bicep: resource site 'Microsoft.Web/sites@2024-04-01': properties.functionAppConfig.deployment.storage.authentication.typ is not a property of FunctionsDeploymentStorageAuthentication`,
      `${nested}/modules/functionapp.bicep: resource site 'Microsoft.Web/sites@2024-04-01': properties.functionAppConfig.scaleAndConcurrency.instanceMemoryMb is not a property of FunctionsScaleAndConcurrency (the model spells it instanceMemoryMB)`,
    ]);
    const alerts = plant('modules/alerts.bicep', (s) =>
      s
        .replace(
          "'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'",
          "'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriterion'",
        )
        .replace('minFailingPeriodsToAlert: 1', 'minFailingPeriodToAlert: 1'),
    );
    const problems = (await bicepSchemaReport(alerts, newerThanSdk)).problems.join('\n');
    expect(problems).toMatch(
      /resource serviceBusDeadLetters .*: properties\.criteria\.odata\.type 'Microsoft\.Azure\.Monitor\.SingleResourceMultipleMetricCriterion' is none of /,
    );
    expect(problems).toMatch(
      /resource rules .*: properties\.criteria\.allOf\[0\]\.failingPeriods\.minFailingPeriodToAlert is not a property of ConditionFailingPeriods/,
    );
    const type = plant('modules/identity.bicep', (s) =>
      s.replace('Microsoft.ManagedIdentity/userAssignedIdentities@', 'Microsoft.ManagedIdentity/userAssignedIdentity@'),
    );
    expect((await bicepSchemaReport(type, newerThanSdk)).problems).toEqual([
      `${type}/modules/identity.bicep: resource identity: type Microsoft.ManagedIdentity/userAssignedIdentity has no create (PUT) operation in any of the @azure/arm-* packages (misspelt, or its SDK is not a devDependency)`,
    ]);
  });

  it("does not accept an exception the template's api-version does not justify", async () => {
    const older = plant('modules/servicebus.bicep', (s) =>
      s.replace(
        "resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01'",
        "resource namespace 'Microsoft.ServiceBus/namespaces@2021-11-01'",
      ),
    );
    expect((await bicepSchemaReport(older, newerThanSdk)).problems.join('\n')).toMatch(
      /properties\.minimumTlsVersion is not a property of SBNamespace\.properties/,
    );
  });
});
