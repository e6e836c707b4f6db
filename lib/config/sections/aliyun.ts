import { z } from 'zod';
import { defineSection } from '../section.js';
import { integer, optionalText } from '../coerce.js';

export const aliyunSection = defineSection({
  name: 'Aliyun',
  schema: z.object({
    AccessKeyId: optionalText(),
    AccessKeySecret: optionalText(),
    SecurityToken: optionalText(),
    AccountId: optionalText(),
    MNSEndpoint: optionalText().refine((v) => v === undefined || /^https?:\/\//.test(v), {
      message: 'an http(s):// endpoint',
    }),
    QueueName: z.string().min(1).default('tasks'),
    DeadLetterQueueName: z.string().min(1).default('tasks-dlq'),
    MaxReceiveCount: integer({ min: 1, max: 1000 }).default(5),
  }),
  secrets: ['AccessKeySecret', 'SecurityToken'],
  docs: {
    AccessKeyId: "AccessKey id for MNS (on Function Compute, the function role's STS credentials are used when unset).",
    AccessKeySecret: 'AccessKey secret for MNS. Secret.',
    SecurityToken: 'STS security token, when the keys are temporary. Secret.',
    AccountId: 'Alibaba Cloud account id (taken from MNSEndpoint when unset).',
    MNSEndpoint: 'MNS endpoint, e.g. https://<account>.mns.<region>.aliyuncs.com.',
    QueueName: 'MNS queue the subscriber reads.',
    DeadLetterQueueName: 'MNS queue receiving messages past MaxReceiveCount or invalid.',
    MaxReceiveCount: 'Deliveries of one message before it moves to the dead-letter queue.',
  },
});
