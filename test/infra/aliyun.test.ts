/**
 * infra/aliyun (Terraform) against the code: one Function Compute function per `aliyunFunctions`
 * entry with every setting lib/config reads in its environment, timer triggers on the catalog's
 * schedules, the MNS queue and its dead-letter queue with the code's names and limits, and a RAM role
 * with only what the functions use. The HCL is parsed by @cdktf/hcl2json (WebAssembly shipped in the
 * package; no provider or CLI needed); `terraform fmt -check` runs when terraform is on the PATH.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/index.js';
import * as aliyun from './support/aliyun.js';
import { currentExpectations, repoPath } from './support/drift.js';
import { parseHcl, type TerraformConfig } from './support/hcl.js';
import { onPath, run } from './support/tools.js';
import { aliyunIntended } from './support/intended.js';

const dir = repoPath('infra', 'aliyun');
const exp = currentExpectations();
const defaults = loadConfig({ env: {} });
let cfg: TerraformConfig;

beforeAll(async () => {
  cfg = await aliyun.loadAliyun(dir);
});

describe('infra/aliyun (Terraform)', () => {
  it.skipIf(!onPath('terraform'))('is formatted (terraform fmt -check), the tfvars example too', () => {
    const r = run('terraform', ['fmt', '-check', '-recursive', '-diff', dir]);
    expect(r.stdout).toBe('');
    expect(r.status).toBe(0);
    const example = readFileSync(`${dir}/terraform.tfvars.example`, 'utf8');
    expect(run('terraform', ['fmt', '-'], example).stdout).toBe(example);
  });

  it('pins the alicloud provider at a version with fcv3 functions/triggers, dlq_policy and role_name', () => {
    expect(aliyun.versionProblems(cfg)).toEqual([]);
  });

  it('gives the functions every setting the code reads (settingNames()) as environment variables', () => {
    expect(aliyun.settingsProblems(cfg, exp)).toEqual([]);
  });

  it('sets values the code accepts, equal to its defaults except where intended', () => {
    expect(aliyun.valueProblems(cfg, exp, Object.keys(aliyunIntended))).toEqual([]);
  });

  it('takes secrets from sensitive variables only', () => {
    expect(
      aliyun.secretProblems(cfg, exp, { AzureStorage__ConnectionString: defaults.AzureStorage.ConnectionString }),
    ).toEqual([]);
  });

  it('declares one alicloud_fcv3_function per aliyunFunctions entry: nodejs20, handler, role, log_config', () => {
    expect(aliyun.functionProblems(cfg, exp)).toEqual([]);
  });

  it('gives the processor functions a timeout above Worker__TaskTimeout', () => {
    expect(aliyun.timeoutProblems(cfg)).toEqual([]);
  });

  it("triggers the timer functions on the catalog's schedules and admin over HTTP", () => {
    expect(aliyun.triggerProblems(cfg, exp)).toEqual([]);
  });

  it("declares the MNS queue and its dead-letter queue with the code's names and receive limit", () => {
    expect(aliyun.queueProblems(cfg, defaults.Aliyun)).toEqual([]);
  });

  it('gives the functions a RAM role with only the actions they use, on their resources', () => {
    expect(aliyun.ramProblems(cfg, exp)).toEqual([]);
  });

  it("wires the functions' logs to the log project and logstore", () => {
    expect(Object.keys(cfg.resources.alicloud_log_project ?? {})).toEqual(['functions']);
    expect(Object.keys(cfg.resources.alicloud_log_store ?? {})).toEqual(['functions']);
  });

  it('has a terraform.tfvars.example that sets only declared variables and every required one', async () => {
    const tfvars = await parseHcl('terraform.tfvars.example', readFileSync(`${dir}/terraform.tfvars.example`, 'utf8'));
    expect(aliyun.tfvarsProblems(cfg, tfvars)).toEqual([]);
  });

  it('outputs the function names, the admin URL and the queues', () => {
    for (const name of ['function_names', 'admin_url', 'mns_queue_name', 'mns_dead_letter_queue_name', 'mns_endpoint'])
      expect(Object.keys(cfg.outputs)).toContain(name);
  });
});
