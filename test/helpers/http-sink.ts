/** A real HTTP server on 127.0.0.1 that records every request: a webhook or Telegram sink. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll } from 'vitest';

export interface SinkRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface HttpSink {
  url: string;
  requests: SinkRequest[];
  /** The JSON bodies of the requests (a webhook gets the event as JSON). */
  events(): Array<Record<string, unknown>>;
}

const servers: http.Server[] = [];
// Registered at import time (collection), as env.ts does, so that vitest runs it.
afterAll(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** Starts a sink that answers every request with `reply` (default: 200 `{"ok":true}`). */
export async function startHttpSink(
  reply: (req: SinkRequest) => { status: number; body: string } = () => ({
    status: 200,
    body: '{"ok":true}',
  }),
): Promise<HttpSink> {
  const requests: SinkRequest[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const rec = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      requests.push(rec);
      const r = reply(rec);
      res.writeHead(r.status, { 'content-type': 'application/json' });
      res.end(r.body);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    events: () =>
      requests.flatMap((r) => {
        try {
          return [JSON.parse(r.body) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
  };
}
