/** What the host stand-in and its worker process say to each other over Node IPC. */
export interface InvokeRequest {
  id: number;
  functionName: string;
  invocationId: string;
  /** The trigger's binding: ModelBindingData with base64 content (collectionModelBindingData for cardinality many). */
  inputData: {
    name: string;
    modelBindingData: { version: string; source: string; contentType: string; content: string }[];
  }[];
  /** RpcTypedData per key, as the host sends trigger metadata (`{ json }`). */
  triggerMetadata: Record<string, { json: string }>;
}

export interface RegisteredFunction {
  name: string;
  bindings: Record<string, { type: string; direction: string } & Record<string, unknown>>;
}

export type WorkerReply =
  | { type: 'ready'; functions: RegisteredFunction[] }
  | { type: 'result'; id: number; ok: true; returnValue: unknown }
  | { type: 'result'; id: number; ok: false; error: string };
