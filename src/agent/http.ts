/**
 * The agent's HTTP endpoints: `/healthz` (liveness), `/readyz` (readiness)
 * and `/metrics` (Prometheus). Health and metrics may share a port or not;
 * each server serves the routes it is given and 404 otherwise.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../util/log.js';
import type { AgentMetrics } from './metrics.js';
import type { Verdict } from './health.js';

export interface Reply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

export type Route = () => Reply | Promise<Reply>;

export interface RunningServer {
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
}

export function verdictRoute(check: () => Verdict): Route {
  return () => {
    const v = check();
    return {
      status: v.ok ? 200 : 503,
      contentType: 'text/plain; charset=utf-8',
      body: `${v.ok ? 'ok' : 'fail'}: ${v.reason}\n`,
    };
  };
}

export function metricsRoute(metrics: AgentMetrics): Route {
  return async () => ({ status: 200, contentType: metrics.contentType, body: await metrics.text() });
}

/** Listens on host:port (port 0: any free port) and serves `routes` by exact path (GET and HEAD). */
export async function serveRoutes(
  host: string,
  port: number,
  routes: Readonly<Record<string, Route>>,
  log: Logger,
): Promise<RunningServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (route === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(route === undefined ? 404 : 405, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    Promise.resolve()
      .then(route)
      .then(
        (reply) =>
          res
            .writeHead(reply.status, { 'content-type': reply.contentType })
            .end(req.method === 'HEAD' ? undefined : reply.body),
        (err: unknown) => {
          log.error({ err, path }, 'HTTP handler failed');
          res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error\n');
        },
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  log.info({ host, port: bound, paths: Object.keys(routes) }, 'serving HTTP');
  return {
    port: bound,
    host,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
