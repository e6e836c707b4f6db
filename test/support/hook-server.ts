import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local HTTP endpoint for the example webhook handler: records each POSTed JSON body, answers `status`. */
export async function startHookServer(
  status = 200,
): Promise<{ url: string; calls: unknown[]; close(): Promise<void> }> {
  const calls: unknown[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      calls.push(JSON.parse(body || 'null'));
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'thanks' : `status ${status}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    calls,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
