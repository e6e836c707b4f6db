import { z } from 'zod';
import { defineSection } from '../section.js';
import { optionalText } from '../coerce.js';

export const functionComputeSection = defineSection({
  name: 'FunctionCompute',
  schema: z.object({
    ProcessorFunctionName: z.string().min(1).default('processor'),
    Endpoint: optionalText().refine((v) => v === undefined || /^(https?:\/\/)?[A-Za-z0-9.-]+(:\d+)?$/.test(v), {
      message: 'a host name, optionally with http(s):// and :port',
    }),
    FanOut: z.coerce.number().int().min(0).max(100).default(4),
  }),
  secrets: [],
  docs: {
    ProcessorFunctionName: 'Function invoked asynchronously to process tasks after the MNS puller stored some.',
    Endpoint:
      'Function Compute API endpoint; default <FC_ACCOUNT_ID>.<FC_REGION>-internal.fc.aliyuncs.com from the runtime environment.',
    FanOut: 'Asynchronous processor invocations per stored batch (0 = rely on the sweep timer).',
  },
});
