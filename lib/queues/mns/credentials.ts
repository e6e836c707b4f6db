/**
 * Where MNS credentials come from: explicit ones (Function Compute's `context.credentials`), the Aliyun
 * settings, or the STS variables Function Compute sets for a function with a role. Missing ones are a
 * ConfigError naming the settings; secrets never appear in it.
 */
import { z } from 'zod';
import type { AppConfig } from '../../config/load.js';
import { ConfigError, type ConfigProblem } from '../../config/errors.js';

export const mnsCredentialsSchema = z.object({
  accessKeyId: z.string().min(1),
  accessKeySecret: z.string().min(1),
  securityToken: z.string().min(1).optional(),
});
export type MnsCredentials = z.infer<typeof mnsCredentialsSchema>;

/** Function Compute 3.0 exposes the function role's STS credentials in these variables. */
const FC_ENV = {
  accessKeyId: 'ALIBABA_CLOUD_ACCESS_KEY_ID',
  accessKeySecret: 'ALIBABA_CLOUD_ACCESS_KEY_SECRET',
  securityToken: 'ALIBABA_CLOUD_SECURITY_TOKEN',
} as const;

/** Function Compute's `context.credentials` shape (FC 3.0 Node.js runtime). */
export interface FunctionComputeCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
}

export function fromFunctionComputeContext(credentials: FunctionComputeCredentials): MnsCredentials {
  return mnsCredentialsSchema.parse(credentials);
}

function problem(key: string, expected: string): ConfigProblem {
  return { key: `Aliyun:${key}`, envVar: `Aliyun__${key}`, given: '(nothing)', expected, source: 'default' };
}

export function resolveMnsCredentials(
  settings: AppConfig['Aliyun'],
  opts: { credentials?: MnsCredentials; env?: Record<string, string | undefined> } = {},
): MnsCredentials {
  if (opts.credentials) return mnsCredentialsSchema.parse(opts.credentials);
  if (settings.AccessKeyId && settings.AccessKeySecret) {
    return {
      accessKeyId: settings.AccessKeyId,
      accessKeySecret: settings.AccessKeySecret,
      ...(settings.SecurityToken ? { securityToken: settings.SecurityToken } : {}),
    };
  }
  const env = opts.env ?? process.env;
  const id = env[FC_ENV.accessKeyId];
  const secret = env[FC_ENV.accessKeySecret];
  if (id && secret) {
    const token = env[FC_ENV.securityToken];
    return { accessKeyId: id, accessKeySecret: secret, ...(token ? { securityToken: token } : {}) };
  }
  const problems: ConfigProblem[] = [];
  const hint = `set it, or run on Function Compute with a role (${FC_ENV.accessKeyId}/${FC_ENV.accessKeySecret})`;
  if (!settings.AccessKeyId) problems.push(problem('AccessKeyId', `an AccessKey id for MNS (${hint})`));
  if (!settings.AccessKeySecret) problems.push(problem('AccessKeySecret', `an AccessKey secret for MNS (${hint})`));
  throw new ConfigError(problems);
}

/** The account id: the AccountId setting, or the first label of a standard MNS endpoint. */
export function resolveMnsAccount(settings: AppConfig['Aliyun']): { accountId: string; endpoint: string } {
  const problems: ConfigProblem[] = [];
  if (!settings.MNSEndpoint)
    problems.push(problem('MNSEndpoint', 'an MNS endpoint, e.g. https://<account>.mns.<region>.aliyuncs.com'));
  const fromHost = settings.MNSEndpoint ? /^https?:\/\/(\d+)\.mns[.-]/i.exec(settings.MNSEndpoint)?.[1] : undefined;
  const accountId = settings.AccountId ?? fromHost;
  if (!accountId && settings.MNSEndpoint)
    problems.push(problem('AccountId', 'the Alibaba Cloud account id (the endpoint does not name it)'));
  if (problems.length > 0) throw new ConfigError(problems);
  return { accountId: accountId!, endpoint: settings.MNSEndpoint!.replace(/\/+$/, '') };
}
