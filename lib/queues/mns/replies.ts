/**
 * What MNS answers, as this provider reads it: received messages, batch send and batch delete results,
 * queue attributes, and the handle a received message carries. Each reply is parsed once, here, so a
 * malformed answer is a clear error rather than a wrong field deep in the provider.
 */
import { z } from 'zod';

/** What `handle` holds for an MNS message. */
export const handleSchema = z.object({ kind: z.literal('mns'), queue: z.string(), receiptHandle: z.string().min(1) });
export type MnsHandle = z.infer<typeof handleSchema>;

const messageFields = z.object({
  MessageId: z.string().min(1),
  ReceiptHandle: z.string().min(1),
  MessageBody: z.string().optional().default(''),
  EnqueueTime: z.coerce.number().int(),
  DequeueCount: z.coerce.number().int().min(1),
});
export const receiveBody = z.union([z.array(messageFields), messageFields.transform((m) => [m])]);

const sendResultFields = z.object({
  MessageId: z.string().optional(),
  ErrorCode: z.string().optional(),
  ErrorMessage: z.string().optional(),
});
export const batchSendBody = z.union([z.array(sendResultFields), sendResultFields.transform((m) => [m])]);

const deleteErrorFields = z.object({
  ErrorCode: z.string(),
  ErrorMessage: z.string().optional(),
  ReceiptHandle: z.string(),
});
export const batchDeleteBody = z.union([
  z.array(deleteErrorFields),
  deleteErrorFields.transform((m) => [m]),
  z.undefined(),
]);

export const queueAttributes = z.object({
  ActiveMessages: z.coerce.number().int(),
  InactiveMessages: z.coerce.number().int(),
  DelayMessages: z.coerce.number().int(),
});
