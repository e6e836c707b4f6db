/**
 * Typings for the part of `@alicloud/mns` 1.2.0 (CommonJS, untyped) that taskmesh uses.
 * Checked against node_modules/@alicloud/mns/lib/client.js: response bodies are the XML elements of the
 * expected root as strings (xml2js + the SDK's `extract`), or arrays of such objects for batch calls.
 * Errors from the service are plain Errors named `MNS<Code>Error`. Values are NOT XML-escaped by the SDK.
 */
declare module '@alicloud/mns' {
  class MNSClient {
    constructor(accountId: string, options: MNSClient.MnsClientOptions);
    createQueue(
      name: string,
      params?: MNSClient.MnsQueueParams,
    ): Promise<MNSClient.MnsResponse<MNSClient.MnsFields | undefined>>;
    deleteQueue(name: string): Promise<MNSClient.MnsResponse<undefined>>;
    getQueueAttributes(name: string): Promise<MNSClient.MnsResponse<MNSClient.MnsFields>>;
    sendMessage(queue: string, params: MNSClient.MnsMessageParams): Promise<MNSClient.MnsResponse<MNSClient.MnsFields>>;
    batchSendMessage(
      queue: string,
      params: MNSClient.MnsMessageParams[],
    ): Promise<MNSClient.MnsResponse<MNSClient.MnsFields[] | MNSClient.MnsFields | undefined>>;
    receiveMessage(queue: string, waitSeconds?: number): Promise<MNSClient.MnsResponse<MNSClient.MnsFields>>;
    batchReceiveMessage(
      queue: string,
      numOfMessages: number,
      waitSeconds?: number,
    ): Promise<MNSClient.MnsResponse<MNSClient.MnsFields[] | MNSClient.MnsFields | undefined>>;
    batchPeekMessage(
      queue: string,
      numOfMessages: number,
    ): Promise<MNSClient.MnsResponse<MNSClient.MnsFields[] | MNSClient.MnsFields | undefined>>;
    deleteMessage(queue: string, receiptHandle: string): Promise<MNSClient.MnsResponse<undefined>>;
    /** Body undefined when every handle was deleted; else the per-handle errors. */
    batchDeleteMessage(
      queue: string,
      receiptHandles: string[],
    ): Promise<MNSClient.MnsResponse<MNSClient.MnsFields[] | MNSClient.MnsFields | undefined>>;
    changeMessageVisibility(
      queue: string,
      receiptHandle: string,
      visibilityTimeout: number,
    ): Promise<MNSClient.MnsResponse<MNSClient.MnsFields>>;
  }

  namespace MNSClient {
    interface MnsClientOptions {
      accessKeyId: string;
      accessKeySecret: string;
      /** STS token; sent as the `security-token` header. */
      securityToken?: string;
      /** Called before a request once refreshSTSTokenInterval has passed; returns fresh STS credentials. */
      refreshSTSToken?: () => Promise<{ accessKeyId: string; accessKeySecret: string; securityToken: string }>;
      refreshSTSTokenInterval?: number;
      /** http(s)://host[:port]; when unset, `region` (with secure/internal/vpc) builds the public endpoint. */
      endpoint?: string;
      region?: string;
      secure?: boolean;
      internal?: boolean;
      vpc?: boolean;
      readTimeout?: number;
      connectTimeout?: number;
    }

    /** Element values as text; nested lists appear only in the batch calls below. */
    type MnsFields = Record<string, string | undefined>;

    interface MnsResponse<B> {
      code: number;
      headers: Record<string, string | undefined>;
      body: B;
    }

    interface MnsMessageParams {
      /** Inserted into the request XML as is: escape it first. */
      MessageBody: string;
      DelaySeconds?: number;
      Priority?: number;
    }

    interface MnsQueueParams {
      DelaySeconds?: number;
      MaximumMessageSize?: number;
      MessageRetentionPeriod?: number;
      VisibilityTimeout?: number;
      PollingWaitSeconds?: number;
      LoggingEnabled?: boolean;
    }
  }

  export = MNSClient;
}
