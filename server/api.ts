/**
 * The API's HTTP server over opened dependencies: billing, the Koa app (server/app.ts),
 * the browser bundles, listening. Used by the API process (server/main.ts) and the
 * one-process product (standalone/start.ts), which attaches the SFU's signalling to
 * {@link RunningApi.server}.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Deps } from './core/context.ts';
import { createApp } from './app.ts';
import { startBilling } from './billing/stripe.ts';
import { stopExports } from './services/export.ts';
import { ensureWebBundles } from './web/bundle.ts';

export interface RunningApi {
  readonly server: http.Server;
  /** The address it listens on, e.g. `http://127.0.0.1:3000`. */
  readonly url: string;
  /** Stops accepting and finishes in-flight requests. Safe to call twice. */
  stopAccepting(): Promise<void>;
  /** Stops running exports' worker threads (the lifecycle sweep marks their jobs interrupted). */
  stopExports(): Promise<void>;
}

/**
 * Starts billing (when configured), builds the app and listens on PORT/HOST.
 * @throws when the port is taken or Stripe is configured but unreachable.
 */
export async function startApi(deps: Deps): Promise<RunningApi> {
  const { config } = deps;
  const billing = await startBilling(deps);
  const app = createApp(deps, { billing });
  await ensureWebBundles();
  const handle = app.callback();
  const server = http.createServer((req, res) => {
    void handle(req, res);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  let stopping: Promise<void> | undefined;
  return {
    server,
    url,
    stopAccepting() {
      stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      return stopping;
    },
    stopExports: () => stopExports(deps),
  };
}
