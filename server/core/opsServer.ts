/**
 * The small HTTP server of the standalone SFU and jobs processes: `/healthz` and
 * `/metrics` (Prometheus text format), JSON 404 for anything else. The SFU attaches its
 * WebSocket signalling to the same server.
 */
import http from 'node:http';
import type { Metrics } from './metrics.ts';

export function createOpsServer(metrics: Metrics): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        () =>
          res
            .writeHead(500, { 'content-type': 'application/json' })
            .end('{"error":{"code":"internal","message":"metrics unavailable"}}'),
      );
    } else {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"error":{"code":"not_found","message":"Not found."}}');
    }
  });
}

/** Listens on host:port. @throws when the port is taken. */
export function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
