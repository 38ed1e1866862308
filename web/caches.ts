/**
 * The demo's two caches (the Cache API). The service worker keeps the page's files (network first);
 * the page keeps the served model's prepared form by its version (cache first: served-files.ts), read
 * and written as the page fetches it, so that it is kept on the first visit too, before any service
 * worker controls the page, and fetched once instead of twice. (The engine's worker uses it too when
 * it fetches a served model itself.)
 */
export const PAGE_CACHE = 'relprop-demo-v1';
export const MODEL_CACHE = 'relprop-demo-models-v1';
