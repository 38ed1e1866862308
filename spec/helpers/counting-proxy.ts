/**
 * A proxy in front of the demo server for the page's tests: it records every path it is asked for (so
 * a test counts what crossed the network, whatever the page or its service worker cache), can hold
 * the answers to some paths until the test lets them go (a download that is still under way), and
 * serves a few extra files itself, with the headers a cross-origin isolated page needs.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CountingProxy {
  url: string;
  /** Requests whose path starts with `prefix`, so far. */
  count(prefix: string): number;
  /** Resolves once `n` requests have started with `prefix`. */
  asked(prefix: string, n?: number): Promise<void>;
  /** Holds answers to paths starting with `prefix` until the function it returns is called. */
  hold(prefix: string): () => void;
  close(): Promise<void>;
}

export async function countingProxy(target: string, extra: Record<string, Uint8Array> = {}): Promise<CountingProxy> {
  const to = new URL(target);
  const paths: string[] = [];
  const held = new Map<string, (() => void)[]>();
  const waiters: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://proxy').pathname;
    paths.push(path);
    waiters.splice(0).forEach((w) => w());
    const answer = () => {
      const own = extra[path];
      if (own) {
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': own.length, 'Cross-Origin-Resource-Policy': 'same-origin', 'Cache-Control': 'no-cache' });
        return res.end(req.method === 'HEAD' ? undefined : Buffer.from(own));
      }
      const up = request({ host: to.hostname, port: to.port, path: req.url, method: req.method, headers: { ...req.headers, host: to.host } }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.writeHead(502).end());
      req.pipe(up);
    };
    const gate = [...held.keys()].find((p) => path.startsWith(p));
    if (gate) held.get(gate)!.push(answer);
    else answer();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const count = (prefix: string) => paths.filter((p) => p.startsWith(prefix)).length;
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    count,
    async asked(prefix, n = 1) {
      while (count(prefix) < n) await new Promise<void>((r) => waiters.push(r));
    },
    hold(prefix) {
      held.set(prefix, []);
      return () => {
        const queued = held.get(prefix) ?? [];
        held.delete(prefix);
        queued.forEach((go) => go());
      };
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
