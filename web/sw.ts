/**
 * Offline: the page, its scripts and the examples are cached when the service worker installs, and
 * every same-origin GET (the served model's files too) is cached as it is fetched. The network comes
 * first, so a newer relprop is never hidden behind an old cache; without one, the cache answers, so
 * the page works offline once it has worked online. Cached responses keep their headers, COOP/COEP
 * among them, so threads stay on offline.
 */
import { DEFAULT_MODEL, servedModelPath } from '../src/io/registry/default-model.js';

const sw = self as unknown as ServiceWorkerGlobalScope;
const CACHE = 'relprop-demo-v1';
const SHELL = ['./', 'index.html', 'app.js', 'worker.js', 'examples/chelsea.png', 'examples/coffee.png', 'examples/astronaut.png', 'examples/rocket.jpg'];

/** The served default model's files (its manifest lists them with their sizes), or none on a static host. */
async function modelFiles(): Promise<string[]> {
  const base = servedModelPath(DEFAULT_MODEL);
  const res = await fetch(`${base}manifest.json`).catch(() => null);
  if (!res?.ok) return [];
  const { sizes, prepared } = (await res.json()) as { sizes?: Record<string, number>; prepared?: { file: string } };
  // The page reads the prepared form where there is one, and then nothing else of the model.
  return [`${base}manifest.json`, ...(prepared ? [prepared.file] : Object.keys(sizes ?? {})).map((p) => base + p)];
}

sw.addEventListener('install', (e) => {
  // The model too: the page's first load fetches it from a worker that may start before this service
  // worker controls the page, so it would not pass through the fetch handler below.
  e.waitUntil(caches.open(CACHE).then(async (c) => c.addAll([...SHELL, ...(await modelFiles())])).then(() => sw.skipWaiting()));
});
sw.addEventListener('activate', (e) => {
  e.waitUntil(sw.clients.claim());
});
sw.addEventListener('fetch', (e) => {
  const req = e.request;
  if (req.method !== 'GET' || new URL(req.url).origin !== location.origin) return;
  e.respondWith(
    caches.open(CACHE).then(async (cache) => {
      try {
        const res = await fetch(req);
        if (res.ok) await cache.put(req, res.clone());
        return res;
      } catch (offline) {
        const hit = await cache.match(req, { ignoreSearch: true });
        if (hit) return hit;
        throw offline;
      }
    }),
  );
});
