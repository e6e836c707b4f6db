/** The Terraform configuration (infra/aliyun) and its checks against the code. */
import { parseDuration } from '../../../lib/config/index.js';
import {
  differencesFromDefaults,
  loadProblems,
  providerProblems,
  repoPath,
  scheduleProblems,
  settingProblems,
  timerSchedules,
  type Expectations,
} from './drift.js';
import { evalTf, expressionOf, loadTerraform, type Block, type Json, type TerraformConfig } from './hcl.js';

export function loadAliyun(dir = repoPath('infra', 'aliyun')): Promise<TerraformConfig> {
  return loadTerraform(dir);
}

function resource(cfg: TerraformConfig, type: string, name: string): Block {
  const r = cfg.resources[type]?.[name];
  if (!r) throw new Error(`infra/aliyun: no resource ${type}.${name}`);
  return r;
}

function localObject(cfg: TerraformConfig, name: string): Record<string, Json> {
  const v = cfg.locals[name];
  if (!v || typeof v !== 'object' || Array.isArray(v))
    throw new Error(`infra/aliyun: local.${name} is not an object literal`);
  return v;
}

/** The function environment: local.environment (merged with var.extra_environment). */
export function environment(cfg: TerraformConfig): Record<string, Json> {
  return localObject(cfg, 'environment');
}

const refersTo = (value: Json | undefined, expr: string) =>
  expressionOf(value)?.replace(/\s+/g, '') === expr.replace(/\s+/g, '');

// -------------------------------------------------------------------------------------------------

/** The queue providers infra/aliyun deploys, as it declares them: local.queue_providers. */
export function queueProviders(cfg: TerraformConfig): string[] {
  const v = cfg.locals.queue_providers;
  if (!Array.isArray(v) || !v.every((p): p is string => typeof p === 'string'))
    throw new Error('infra/aliyun: local.queue_providers is not a list of provider names');
  return v;
}

export function settingsProblems(cfg: TerraformConfig, exp: Expectations): string[] {
  const env = environment(cfg);
  const deployed = queueProviders(cfg);
  const selected = evalTf(env.Ingest__Provider, cfg);
  const problems = [
    ...settingProblems('local.environment', Object.keys(env), exp, deployed),
    ...providerProblems(
      'infra/aliyun',
      exp,
      deployed,
      typeof selected === 'string' ? selected : undefined,
      Object.keys(env),
    ),
  ];
  if (!refersTo(cfg.locals.function_environment, 'merge(local.environment, var.extra_environment)'))
    problems.push('local.function_environment must be merge(local.environment, var.extra_environment)');
  const fn = resource(cfg, 'alicloud_fcv3_function', 'fn');
  if (!refersTo(fn.environment_variables, 'local.function_environment'))
    problems.push('alicloud_fcv3_function.fn: environment_variables must be local.function_environment');
  return problems;
}

export function resolvedSettings(cfg: TerraformConfig, exp: Expectations): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(environment(cfg))) {
    if (exp.secrets.has(k)) continue;
    const r = evalTf(v, cfg);
    if (r !== undefined && r !== null) env[k] = String(r);
  }
  return env;
}

export function valueProblems(cfg: TerraformConfig, exp: Expectations, intended: readonly string[]): string[] {
  const env = resolvedSettings(cfg, exp);
  const problems = loadProblems(env).map((p) => `local.environment: ${p}`);
  if (problems.length > 0) return problems;
  const diff = differencesFromDefaults(env);
  for (const d of diff)
    if (!intended.includes(d))
      problems.push(`local.environment sets ${d}=${JSON.stringify(env[d])}, which differs from the code's default`);
  for (const d of intended)
    if (!diff.includes(d))
      problems.push(`local.environment: ${d} was expected to differ from the code's default and does not`);
  return problems;
}

/** Secret settings: empty, the code's (public) default, or a sensitive variable. */
export function secretProblems(
  cfg: TerraformConfig,
  exp: Expectations,
  publicDefaults: Record<string, string>,
): string[] {
  const problems: string[] = [];
  const env = environment(cfg);
  for (const secret of exp.secrets) {
    const v = env[secret];
    if (v === undefined) continue; // reported as missing
    if (v === '' || v === publicDefaults[secret]) continue;
    const m = /^var\.(\w+)$/.exec(expressionOf(v) ?? '');
    if (!m) problems.push(`${secret} must come from a sensitive variable (or be empty), is ${JSON.stringify(v)}`);
    else if (cfg.variables[m[1]!]?.sensitive !== true)
      problems.push(`${secret} comes from var.${m[1]}, which is not sensitive`);
  }
  for (const name of ['mongodb_uri', 'access_key_secret', 'admin_api_key']) {
    if (cfg.variables[name]?.sensitive !== true) problems.push(`variable ${name} must be sensitive`);
  }
  return problems;
}

/** One alicloud_fcv3_function per aliyun catalog entry, Node.js 20, with the role and log config. */
export function functionProblems(cfg: TerraformConfig, exp: Expectations): string[] {
  const problems: string[] = [];
  const fnTypes = cfg.resources.alicloud_fcv3_function ?? {};
  if (Object.keys(fnTypes).join() !== 'fn')
    problems.push(
      `expected the single for_each resource alicloud_fcv3_function.fn, found ${Object.keys(fnTypes).join(', ')}`,
    );
  const fn = resource(cfg, 'alicloud_fcv3_function', 'fn');
  if (!refersTo(fn.for_each, 'local.functions'))
    problems.push('alicloud_fcv3_function.fn: for_each must be local.functions');
  const declared = Object.keys(localObject(cfg, 'functions')).sort();
  const catalog = exp.aliyunFunctions.map((f) => f.name).sort();
  if (declared.join() !== catalog.join())
    problems.push(
      `local.functions has ${declared.join(', ')}; the catalog's aliyunFunctions are ${catalog.join(', ')}`,
    );
  if (fn.runtime !== 'nodejs20') problems.push(`runtime is ${JSON.stringify(fn.runtime)}, not nodejs20`);
  if (!refersTo(fn.handler, 'var.handlers[each.key]')) problems.push('handler must be var.handlers[each.key]');
  const handlers = cfg.variables.handlers?.default;
  const handlerKeys = handlers && typeof handlers === 'object' ? Object.keys(handlers).sort() : [];
  if (handlerKeys.join() !== catalog.join())
    problems.push(`var.handlers has ${handlerKeys.join(', ')}; expected ${catalog.join(', ')}`);
  if (!refersTo(fn.role, 'alicloud_ram_role.functions.arn'))
    problems.push('role must be alicloud_ram_role.functions.arn');
  const log = Array.isArray(fn.log_config) ? (fn.log_config[0] as Block | undefined) : undefined;
  if (
    !log ||
    !refersTo(log.project, 'alicloud_log_project.functions.project_name') ||
    !refersTo(log.logstore, 'alicloud_log_store.functions.logstore_name')
  )
    problems.push('log_config must name alicloud_log_project.functions and alicloud_log_store.functions');
  for (const key of ['timeout', 'memory_size'])
    if (fn[key] === undefined) problems.push(`alicloud_fcv3_function.fn: ${key} not set`);
  // The function the puller invokes is the catalog's 'invoke' function, under its deployed name.
  const invoked = exp.aliyunFunctions.filter((f) => f.trigger === 'invoke');
  if (exp.settings.includes('FunctionCompute__ProcessorFunctionName') && invoked.length === 1) {
    const expected = `local.function_names["${invoked[0]!.name}"]`;
    if (!refersTo(environment(cfg).FunctionCompute__ProcessorFunctionName, expected))
      problems.push(`FunctionCompute__ProcessorFunctionName must be ${expected}`);
  }
  return problems;
}

/** The processor functions outlive the longest task (Worker:TaskTimeout). */
export function timeoutProblems(cfg: TerraformConfig): string[] {
  const taskTimeout = evalTf(environment(cfg).Worker__TaskTimeout, cfg);
  const ms = typeof taskTimeout === 'string' ? parseDuration(taskTimeout) : undefined;
  if (ms === undefined) return ['Worker__TaskTimeout does not resolve to a duration'];
  const problems: string[] = [];
  for (const name of ['processor', 'processor-sweep']) {
    const def = localObject(cfg, 'functions')[name] as Block | undefined;
    const timeout = def ? evalTf(def.timeout, cfg) : undefined;
    if (typeof timeout !== 'number' || timeout * 1000 <= ms)
      problems.push(`${name}: timeout ${String(timeout)} s does not exceed Worker__TaskTimeout (${ms / 1000} s)`);
  }
  return problems;
}

/** Declared timer schedules: function -> cronExpression. */
export function declaredSchedules(cfg: TerraformConfig): Record<string, string> {
  const timer = resource(cfg, 'alicloud_fcv3_trigger', 'timer');
  if (!refersTo(timer.for_each, 'local.schedules'))
    throw new Error('alicloud_fcv3_trigger.timer: for_each must be local.schedules');
  if (timer.trigger_type !== 'timer') throw new Error('alicloud_fcv3_trigger.timer: trigger_type must be "timer"');
  const config = expressionOf(timer.trigger_config)?.replace(/\s+/g, ' ') ?? '';
  if (!/^jsonencode\(\{.*\bcronExpression = each\.value\b.*\benable = /.test(config))
    throw new Error(
      `alicloud_fcv3_trigger.timer: trigger_config must be jsonencode({ cronExpression = each.value, enable = ... }), is ${config}`,
    );
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(localObject(cfg, 'schedules'))) out[name] = String(evalTf(v, cfg));
  return out;
}

export function triggerProblems(cfg: TerraformConfig, exp: Expectations): string[] {
  const problems = scheduleProblems('infra/aliyun timers', timerSchedules(exp.aliyunFunctions), declaredSchedules(cfg));
  const triggers = cfg.resources.alicloud_fcv3_trigger ?? {};
  for (const fn of exp.aliyunFunctions.filter((f) => f.trigger === 'http')) {
    const http = Object.values(triggers).filter(
      (t) =>
        t.trigger_type === 'http' && refersTo(t.function_name, `alicloud_fcv3_function.fn["${fn.name}"].function_name`),
    );
    if (http.length !== 1) problems.push(`${fn.name}: expected one HTTP trigger, found ${http.length}`);
  }
  for (const [name, t] of Object.entries(triggers)) {
    if (t.qualifier !== 'LATEST') problems.push(`alicloud_fcv3_trigger.${name}: qualifier must be LATEST`);
  }
  const kinds = new Set(exp.aliyunFunctions.map((f) => f.trigger));
  for (const k of kinds)
    if (!['timer', 'http', 'invoke'].includes(k))
      problems.push(`the catalog has a ${k} function on Function Compute, which infra/aliyun does not wire`);
  return problems;
}

/** The MNS queue and its dead-letter queue, named by the variables the settings use, defaults = code defaults. */
export function queueProblems(
  cfg: TerraformConfig,
  defaults: { QueueName: string; DeadLetterQueueName: string; MaxReceiveCount: number },
): string[] {
  const problems: string[] = [];
  const tasks = resource(cfg, 'alicloud_message_service_queue', 'tasks');
  const dlq = resource(cfg, 'alicloud_message_service_queue', 'dead_letter');
  const env = environment(cfg);
  if (!refersTo(tasks.queue_name, 'var.mns_queue_name'))
    problems.push('the MNS queue must be named var.mns_queue_name');
  if (!refersTo(dlq.queue_name, 'var.mns_dead_letter_queue_name'))
    problems.push('the dead-letter queue must be named var.mns_dead_letter_queue_name');
  if (!refersTo(env.Aliyun__QueueName, 'alicloud_message_service_queue.tasks.queue_name'))
    problems.push('Aliyun__QueueName must be alicloud_message_service_queue.tasks.queue_name');
  if (!refersTo(env.Aliyun__DeadLetterQueueName, 'alicloud_message_service_queue.dead_letter.queue_name'))
    problems.push('Aliyun__DeadLetterQueueName must be alicloud_message_service_queue.dead_letter.queue_name');
  if (!refersTo(env.Aliyun__MaxReceiveCount, 'tostring(var.mns_max_receive_count)'))
    problems.push('Aliyun__MaxReceiveCount must be tostring(var.mns_max_receive_count)');
  const policy = Array.isArray(tasks.dlq_policy) ? (tasks.dlq_policy[0] as Block | undefined) : undefined;
  if (!policy) problems.push('the MNS queue has no dlq_policy');
  else {
    if (policy.enabled !== true) problems.push('dlq_policy.enabled must be true');
    if (!refersTo(policy.dead_letter_target_queue, 'alicloud_message_service_queue.dead_letter.queue_name'))
      problems.push('dlq_policy.dead_letter_target_queue must be the dead-letter queue');
    if (!refersTo(policy.max_receive_count, 'var.mns_max_receive_count'))
      problems.push('dlq_policy.max_receive_count must be var.mns_max_receive_count');
  }
  const d = (name: string) => cfg.variables[name]?.default;
  if (d('mns_queue_name') !== defaults.QueueName)
    problems.push(
      `var.mns_queue_name defaults to ${JSON.stringify(d('mns_queue_name'))}, the code to ${defaults.QueueName}`,
    );
  if (d('mns_dead_letter_queue_name') !== defaults.DeadLetterQueueName)
    problems.push(
      `var.mns_dead_letter_queue_name defaults to ${JSON.stringify(d('mns_dead_letter_queue_name'))}, the code to ${defaults.DeadLetterQueueName}`,
    );
  if (d('mns_max_receive_count') !== defaults.MaxReceiveCount)
    problems.push(
      `var.mns_max_receive_count defaults to ${JSON.stringify(d('mns_max_receive_count'))}, the code (Aliyun:MaxReceiveCount) to ${defaults.MaxReceiveCount}`,
    );
  return problems;
}

export const expectedMnsActions = [
  'mns:SendMessage',
  'mns:ReceiveMessage',
  'mns:DeleteMessage',
  'mns:ChangeMessageVisibility',
  'mns:GetQueueAttributes',
  'mns:CreateQueue',
];

/** The RAM role: assumable by FC only, and only the actions the functions use. */
export function ramProblems(cfg: TerraformConfig, exp: Expectations): string[] {
  const problems: string[] = [];
  const role = resource(cfg, 'alicloud_ram_role', 'functions');
  const trust = expressionOf(role.assume_role_policy_document) ?? '';
  if (!/Service\s*=\s*\["fc\.aliyuncs\.com"\]/.test(trust) || !/sts:AssumeRole/.test(trust))
    problems.push('the role must be assumable by fc.aliyuncs.com only');
  const policy = expressionOf(resource(cfg, 'alicloud_ram_policy', 'functions').policy_document) ?? '';
  const mnsActions = localsText(cfg, 'mns_actions');
  const actions = new Set(
    [...`${policy} ${mnsActions}`.matchAll(/"((?:mns|fc|log|oss|ram|sts|\*)[:\w*]*)"/g)].map((m) => m[1]!),
  );
  const expected = new Set([...expectedMnsActions, 'fc:InvokeFunction', 'log:PostLogStoreLogs']);
  for (const a of actions)
    if (!expected.has(a)) problems.push(`the policy grants ${a}, which the functions do not use`);
  for (const a of expected) if (!actions.has(a)) problems.push(`the policy lacks ${a}`);
  if (/Resource\s*=\s*"\*"|Resource\s*=\s*\[\s*"\*"/.test(policy) || /"\*"/.test(policy))
    problems.push('the policy grants on every resource ("*")');
  const arns = localsText(cfg, 'mns_queue_arns');
  if (!/var\.mns_queue_name/.test(arns) || !/var\.mns_dead_letter_queue_name/.test(arns))
    problems.push('MNS permissions must be limited to the two queues');
  const invoked = exp.aliyunFunctions.filter((f) => f.trigger === 'invoke').map((f) => f.name);
  const named = [...policy.matchAll(/function_names\["([\w-]+)"\]/g)].map((m) => m[1]!);
  if ([...new Set(named)].sort().join() !== invoked.sort().join())
    problems.push(
      `fc:InvokeFunction covers ${[...new Set(named)].join(', ')}; the catalog invokes ${invoked.join(', ')}`,
    );
  const attachment = resource(cfg, 'alicloud_ram_role_policy_attachment', 'functions');
  if (attachment.policy_type !== 'Custom') problems.push('the policy attachment must be Custom');
  return problems;
}

function localsText(cfg: TerraformConfig, name: string): string {
  const v = cfg.locals[name];
  return typeof v === 'string' ? v : JSON.stringify(v ?? '');
}

/** The provider pin: aliyun/alicloud at a version with fcv3, dlq_policy and role_name. */
export function versionProblems(cfg: TerraformConfig, minimumMinor = 252): string[] {
  const providers = cfg.terraform.flatMap((t) =>
    Array.isArray(t.required_providers) ? (t.required_providers as Block[]) : [],
  );
  const alicloud = providers.map((p) => p.alicloud as Block | undefined).find(Boolean);
  if (!alicloud) return ['terraform.required_providers has no alicloud'];
  const problems: string[] = [];
  if (alicloud.source !== 'aliyun/alicloud') problems.push(`alicloud source is ${JSON.stringify(alicloud.source)}`);
  const m = /^~>\s*1\.(\d+)(\.\d+)?$/.exec(String(alicloud.version));
  if (!m || Number(m[1]) < minimumMinor)
    problems.push(`alicloud version ${JSON.stringify(alicloud.version)} must be "~> 1.${minimumMinor}" or later`);
  if (!cfg.terraform.some((t) => typeof t.required_version === 'string'))
    problems.push('terraform.required_version not set');
  return problems;
}

/** terraform.tfvars.example: only declared variables, and every variable without a default. */
export function tfvarsProblems(cfg: TerraformConfig, tfvars: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const k of Object.keys(tfvars))
    if (!cfg.variables[k]) problems.push(`terraform.tfvars.example sets ${k}, which is not a variable`);
  for (const [k, v] of Object.entries(cfg.variables))
    if (!('default' in v) && !(k in tfvars)) problems.push(`terraform.tfvars.example lacks the required variable ${k}`);
  return problems;
}
