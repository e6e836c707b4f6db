/**
 * A local stand-in for Function Compute 3.0's InvokeFunction API. It checks the request as FC does:
 * the path (/2023-03-30/functions/{name}/invocations), the method, the invocation type header and the
 * ACS3-HMAC-SHA256 signature (recomputed with the configured secret over the canonical request), and
 * answers 202 for an accepted asynchronous invocation, or FC's error JSON.
 */
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FcInvocation {
  functionName: string;
  invocationType: string | undefined;
  body: string;
  headers: IncomingMessage['headers'];
}

export interface FcPeer {
  endpoint: string;
  invocations: FcInvocation[];
  rejected: { status: number; code: string }[];
  stop(): Promise<void>;
}

const sha256hex = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const enc = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** ACS3-HMAC-SHA256: the canonical request FC recomputes. */
function expectedSignature(req: IncomingMessage, body: Buffer, secret: string, signedHeaders: string[]): string {
  const url = new URL(req.url ?? '/', 'http://x');
  const query = [...url.searchParams]
    .map(([k, v]) => [enc(k), enc(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalHeaders = signedHeaders.map((h) => `${h}:${String(req.headers[h] ?? '').trim()}\n`).join('');
  const canonical = [req.method, url.pathname, query, canonicalHeaders, signedHeaders.join(';'), sha256hex(body)].join(
    '\n',
  );
  return createHmac('sha256', secret)
    .update(`ACS3-HMAC-SHA256\n${sha256hex(canonical)}`)
    .digest('hex');
}

export async function startFcPeer(opts: { accessKeyId: string; accessKeySecret: string }): Promise<FcPeer> {
  const invocations: FcInvocation[] = [];
  const rejected: { status: number; code: string }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const fail = (status: number, code: string, message: string) => {
        rejected.push({ status, code });
        res.writeHead(status, { 'content-type': 'application/json', 'x-fc-request-id': 'peer' });
        res.end(JSON.stringify({ Code: code, Message: message, RequestId: 'peer' }));
      };
      const m = /^\/2023-03-30\/functions\/([^/]+)\/invocations$/.exec(new URL(req.url ?? '/', 'http://x').pathname);
      if (req.method !== 'POST' || !m) return fail(404, 'NotFound', `no route ${req.method} ${req.url}`);
      const auth = /^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]+)$/.exec(
        String(req.headers.authorization ?? ''),
      );
      if (!auth) return fail(401, 'InvalidAuthorization', 'missing or malformed Authorization');
      if (auth[1] !== opts.accessKeyId) return fail(403, 'InvalidAccessKeyId.NotFound', 'unknown access key');
      if (req.headers['x-acs-content-sha256'] !== sha256hex(body))
        return fail(400, 'InvalidContentSha256', 'body hash mismatch');
      const signed = auth[2]!.split(';');
      for (const required of ['host', 'x-acs-action', 'x-acs-version', 'x-acs-date'])
        if (!signed.includes(required)) return fail(403, 'SignatureDoesNotMatch', `${required} not signed`);
      if (req.headers['x-acs-action'] !== 'InvokeFunction' || req.headers['x-acs-version'] !== '2023-03-30')
        return fail(400, 'InvalidAction', 'not an FC 3.0 InvokeFunction');
      if (expectedSignature(req, body, opts.accessKeySecret, signed) !== auth[3])
        return fail(403, 'SignatureDoesNotMatch', 'signature mismatch');
      const invocationType = req.headers['x-fc-invocation-type'] as string | undefined;
      invocations.push({
        functionName: decodeURIComponent(m[1]!),
        invocationType,
        body: body.toString('utf8'),
        headers: req.headers,
      });
      res.writeHead(invocationType === 'Async' ? 202 : 200, {
        'content-type': 'application/json',
        'x-fc-request-id': `req-${invocations.length}`,
      });
      res.end('');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    invocations,
    rejected,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
