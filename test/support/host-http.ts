/**
 * An HTTP front for a serverless handler in tests: each request becomes one invocation of the handler,
 * built the way the platform's HTTP trigger builds it (the caller's `invoke` does that translation), so
 * an HTTP client such as taskctl can talk to the Azure or Function Compute admin function.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FrontRequest {
  method: string;
  /** Path with the /api prefix, as the platform sees it. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: string;
}

export interface FrontResponse {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

export async function serveInvocations(
  invoke: (req: FrontRequest) => Promise<FrontResponse>,
): Promise<{ url: string; close(): Promise<void> }> {
  const flat = (h: IncomingHttpHeaders) =>
    Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      invoke({
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: flat(req.headers),
        body: Buffer.concat(chunks).toString('utf8'),
      }).then(
        (r) => res.writeHead(r.status, r.headers ?? {}).end(r.body),
        (e: unknown) => res.writeHead(500).end(e instanceof Error ? e.message : String(e)),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Runs taskctl's main in this process, returning its exit code and output. */
export async function taskctl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { main } = await import('../../lib/cli/main.js');
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: (async function* () {})(),
    env: {},
    cwd: process.cwd(),
  });
  return { code, stdout, stderr };
}
