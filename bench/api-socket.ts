/**
 * The bench's way into a kube-apiserver that listens inside a network
 * namespace: `kubectl proxy --unix-socket` started in that namespace (a Unix
 * socket is reached by path, from any namespace), and JSON requests over it.
 * One HTTP request per call, so a timer around a create measures the API,
 * not a process start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { clusterBinaries, type ControlPlane } from '../test/cluster/control-plane.js';

export interface ApiSocket {
  /** Sends `body` (JSON; a merge patch for PATCH) with `method` to `route`; rejects on a status of 300 or more, naming the route. */
  call(this: void, method: string, route: string, body?: unknown): Promise<Record<string, unknown>>;
  close(this: void): Promise<void>;
}

export async function openApiSocket(cp: ControlPlane, netns: string): Promise<ApiSocket> {
  const socket = path.join(cp.dir, 'proxy.sock');
  const argv = [`--net=/run/netns/${netns}`, clusterBinaries().kubectl, '--kubeconfig', cp.kubeconfig];
  const child: ChildProcess = spawn('nsenter', [...argv, 'proxy', `--unix-socket=${socket}`], { stdio: 'ignore' });
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await gone;
  };
  for (let i = 0; !existsSync(socket); i++) {
    if (i > 200 || child.exitCode !== null) {
      await close();
      throw new Error(`kubectl proxy did not open ${socket}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const call = (method: string, route: string, body?: unknown): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const type = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
      // Node sends a DELETE body without a length unless told: give it one.
      const headers = data === undefined ? {} : { 'content-type': type, 'content-length': Buffer.byteLength(data) };
      const req = request({ socketPath: socket, method, path: route, headers }, (res) => {
        let text = '';
        res.on('data', (b: Buffer) => (text += b.toString()));
        res.on('end', () => {
          if ((res.statusCode ?? 500) >= 300) reject(new Error(`${method} ${route}: ${res.statusCode} ${text}`));
          else resolve(JSON.parse(text || '{}') as Record<string, unknown>);
        });
      });
      req.on('error', reject);
      req.end(data);
    });
  return { call, close };
}
