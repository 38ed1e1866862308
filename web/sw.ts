/**
 * Offline: the page, its scripts, the examples and the served model's manifest are cached when the
 * service worker installs, and every same-origin GET is cached as it is fetched. The network comes
 * first, so a newer relprop is never hidden behind an old cache; without one, the cache answers, so
 * the page works offline once it has worked online. Cached responses keep their headers, COOP/COEP
 * among them, so threads stay on offline. The model's prepared form is not this worker's: the page
 * keeps it by its version (caches.ts), and its versioned requests pass through untouched.
 */
import { DEFAULT_MODEL, PREPARED_NAME, servedModelPath } from '../src/io/registry/default-model.js';
import { PAGE_CACHE } from './caches.js';

const sw = self as unknown as ServiceWorkerGlobalScope;
const SHELL = ['./', 'index.html', 'app.js', 'worker.js', 'plot.js', 'examples/chelsea.png', 'examples/coffee.png', 'examples/astronaut.png', 'examples/rocket.jpg'];

/** The served default model's manifest, and its source files where it has no prepared form; none on a static host. */
async function modelFiles(): Promise<string[]> {
  const base = servedModelPath(DEFAULT_MODEL);
  const res = await fetch(`${base}manifest.json`).catch(() => null);
  if (!res?.ok) return [];
  const { sizes, prepared } = (await res.json()) as { sizes?: Record<string, number>; prepared?: { file: string } };
  return [`${base}manifest.json`, ...(prepared ? [] : Object.keys(sizes ?? {}).map((p) => base + p))];
}

sw.addEventListener('install', (e) => {
  e.waitUntil(caches.open(PAGE_CACHE).then(async (c) => c.addAll([...SHELL, ...(await modelFiles())])).then(() => sw.skipWaiting()));
});
sw.addEventListener('activate', (e) => {
  e.waitUntil(sw.clients.claim());
});
sw.addEventListener('fetch', (e) => {
  const req = e.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== location.origin) return;
  if (url.pathname.endsWith(`/${PREPARED_NAME}`) && url.searchParams.has('v')) return;
  e.respondWith(
    caches.open(PAGE_CACHE).then(async (cache) => {
      try {
        const res = await fetch(req);
        // Answered at once: the copy is written to the cache while the page reads its own.
        if (res.ok) e.waitUntil(cache.put(req, res.clone()));
        return res;
      } catch (offline) {
        const hit = await cache.match(req, { ignoreSearch: true });
        if (hit) return hit;
        throw offline;
      }
    }),
  );
});
