/**
 * infra/aliyun against the alicloud provider's published schema (@pulumi/alicloud's generated types,
 * which mirror terraform-provider-alicloud): every resource and data source type is known, every
 * argument and nested block is declared, required ones are there, deprecated ones are not used. The
 * checks run on the real files, and on copies with a planted mistake to show that they fail.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoPath } from './support/drift.js';
import { camelCase, mapTerraformType, pluralize, propertyFor } from './support/schemas/alicloud.js';
import { terraformSchemaProblems, terraformTypeMapping } from './support/schemas/terraform.js';

const dir = repoPath('infra', 'aliyun');
const copies: string[] = [];

/** A copy of infra/aliyun with one file edited. */
function plant(file: string, edit: (text: string) => string): string {
  const copy = mkdtempSync(join(tmpdir(), 'aliyun-schema-'));
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

describe('infra/aliyun against the alicloud provider schema (@pulumi/alicloud)', () => {
  it("maps every Terraform type to one Pulumi token by the bridge's naming rule", async () => {
    const mapping = await terraformTypeMapping(dir);
    expect(Object.values(mapping).filter((v) => v.startsWith('unmapped'))).toEqual([]);
    expect(mapping.alicloud_fcv3_function).toMatch(/^alicloud:fc\/v3Function:V3Function /);
    expect(mapping.alicloud_message_service_queue).toMatch(/^alicloud:message\/serviceQueue:ServiceQueue /);
    expect(mapping.alicloud_log_store).toMatch(/^alicloud:log\/store:Store /);
    expect(mapping['data.alicloud_account']).toMatch(/^alicloud:index\/getAccount:getAccount /);
  });

  it('declares only arguments and blocks the provider has, every required one, none deprecated', async () => {
    expect(await terraformSchemaProblems(dir)).toEqual([]);
  });

  it('fails on a misspelt argument, naming the file, the resource and the argument', async () => {
    const copy = plant('functions.tf', (s) =>
      s.replace(
        'instance_concurrency = each.value.instance_concurrency',
        'instance_concurency = each.value.instance_concurrency',
      ),
    );
    expect(await terraformSchemaProblems(copy)).toEqual([
      `${copy}/functions.tf: alicloud_fcv3_function.fn: instance_concurency is not an argument of alicloud:fc/v3Function:V3Function (V3FunctionArgs)`,
    ]);
  });

  it('fails on a misspelt argument of a nested block, with its path', async () => {
    const copy = plant('mns.tf', (s) =>
      s.replace(
        'max_receive_count        = var.mns_max_receive_count',
        'max_recieve_count        = var.mns_max_receive_count',
      ),
    );
    expect(await terraformSchemaProblems(copy)).toEqual([
      `${copy}/mns.tf: alicloud_message_service_queue.tasks: dlq_policy.max_recieve_count is not an argument of alicloud:message/serviceQueue:ServiceQueue (ServiceQueueDlqPolicy)`,
    ]);
  });

  it('fails on an unknown resource type, a missing required argument, a block given twice and a deprecated argument', async () => {
    const unknown = plant('log.tf', (s) =>
      s.replace('resource "alicloud_log_store" "functions"', 'resource "alicloud_log_stores" "functions"'),
    );
    expect((await terraformSchemaProblems(unknown)).join('\n')).toMatch(
      /log\.tf: alicloud_log_stores\.functions: resource type alicloud_log_stores has no resource in @pulumi\/alicloud/,
    );
    const missing = plant('functions.tf', (s) => s.replace('  runtime              = "nodejs20"\n', ''));
    expect(await terraformSchemaProblems(missing)).toEqual([
      `${missing}/functions.tf: alicloud_fcv3_function.fn: missing required argument runtime of alicloud:fc/v3Function:V3Function (V3FunctionArgs)`,
    ]);
    const twice = plant('mns.tf', (s) => s.replace(/( {2}dlq_policy \{[\s\S]*?\n {2}\}\n)/, '$1$1'));
    expect(await terraformSchemaProblems(twice)).toEqual([
      `${twice}/mns.tf: alicloud_message_service_queue.tasks: dlq_policy is given 2 times; alicloud:message/serviceQueue:ServiceQueue takes one`,
    ]);
    const deprecated = plant('monitoring.tf', (s) =>
      s.replace(
        '  period             = 300\n',
        '  period             = 300\n  dimensions         = { queue = "tasks-dlq" }\n',
      ),
    );
    expect((await terraformSchemaProblems(deprecated)).join('\n')).toMatch(
      /alicloud_cms_alarm\.dead_letters: dimensions is deprecated/,
    );
  });

  it('names Terraform arguments as the bridge does (camelCase, plural list blocks) and fails on a type the provider renamed', () => {
    expect(camelCase('enable_request_metrics')).toBe('enableRequestMetrics');
    expect(pluralize('query_list')).toBe('query_lists');
    expect(pluralize('field_search')).toBe('field_searches');
    const alert = mapTerraformType('alicloud_log_alert', 'resource');
    expect(alert.ok && propertyFor('query_list', alert.member.args)?.name).toBe('queryLists');
    // Renamed by hand in pulumi-alicloud's resources.go (alicloud_db_instance -> rds.Instance): no rule can find it.
    expect(mapTerraformType('alicloud_db_instance', 'resource').ok).toBe(false);
  });
});
