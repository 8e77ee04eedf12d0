/*
 * Telehealth service worker (plain JS, no build step).
 *
 * ---------------------------------------------------------------------------
 * PRIVACY RULE — READ BEFORE CHANGING
 * Never put navigation (HTML) responses, API responses or anything
 * user-specific into a cache. Pages can carry health data; a cache outlives
 * the session (logout, shared devices) and is readable by any script on the
 * origin. Only the public static bundle (/pkg/, /icons/, favicon, manifest)
 * and the static offline page are ever stored.
 * ---------------------------------------------------------------------------
 *
 * Register it with the build version in the query, e.g.
 *   navigator.serviceWorker.register('/sw.js?v=<version>', { scope: '/' })
 * A new version string means a new script URL, so the browser installs a
 * fresh worker with fresh caches and the old caches are deleted on activate.
 * Serve /sw.js itself with `Cache-Control: no-cache`.
 *
 * Strategies
 *   install   precache the offline page (required) and the static bundle
 *             (each entry optional: one 404 must not break installation).
 *   activate  delete caches from other versions, take control of open tabs.
 *   fetch     GET + same origin only, everything else goes straight to the
 *             network untouched.
 *             - /api/, /healthz, /readyz, /metrics, /ws: never touched.
 *             - static assets: stale-while-revalidate from the static cache
 *               (network-first when VERSION is "dev", so rebuilds show up).
 *             - navigations: network only; if the network fails, serve
 *               /offline.html from the shell cache. Never cached.
 *             - anything else: not handled (browser default).
 */

'use strict';

const VERSION = new URL(self.location).searchParams.get('v') || 'dev';
const DEV = VERSION === 'dev';
const CACHE_PREFIX = 'telehealth-';
const STATIC_CACHE = `${CACHE_PREFIX}static-${VERSION}`;
const SHELL_CACHE = `${CACHE_PREFIX}shell-${VERSION}`;
const OFFLINE_URL = '/offline.html';
const OFFLINE_CSS = '/offline.css';

/* Precached into STATIC_CACHE; each one is optional. */
const STATIC_ASSETS = [
  '/manifest.webmanifest',
  '/favicon.ico',
  '/icons/icon.svg',
  '/icons/icon-192.png',
  '/icons/icon-512.png',
  '/icons/icon-maskable-512.png',
  '/icons/apple-touch-icon.png',
];
/* The /pkg/ bundle has content hashes in its file names (cargo-leptos
 * hash-files), so it is cached as pages request it, under its hashed URL.
 * That includes the split build's chunk loader (__wasm_split.*.js) and the
 * WebAssembly chunks (split_*.wasm, chunk_*.wasm) each page fetches when it
 * is first shown: once fetched, a page's code comes from the cache. */

/* Paths the worker must never handle or cache (prefix match). */
const NEVER_HANDLE = ['/api/', '/healthz', '/readyz', '/metrics', '/ws'];

/* Paths served stale-while-revalidate (prefix match). */
const STATIC_PREFIXES = ['/pkg/', '/icons/'];
const STATIC_FILES = ['/favicon.ico', '/manifest.webmanifest', OFFLINE_CSS];

function isNeverHandled(pathname) {
  return NEVER_HANDLE.some(
    (p) =>
      pathname === p ||
      pathname.startsWith(p.endsWith('/') ? p : `${p}/`) ||
      (p.endsWith('/') && pathname === p.slice(0, -1)),
  );
}

function isStaticAsset(pathname) {
  return (
    STATIC_FILES.includes(pathname) ||
    STATIC_PREFIXES.some((p) => pathname.startsWith(p))
  );
}

/*
 * Only complete, same-origin, successful, shareable responses may be stored.
 * `Cache-Control: no-store` or `private` always wins, even for static paths.
 */
function isCacheable(response) {
  if (!response || response.status !== 200 || response.type !== 'basic') {
    return false;
  }
  const cacheControl = (response.headers.get('Cache-Control') || '').toLowerCase();
  if (/(^|[\s,])(no-store|private)([\s,=]|$)/.test(cacheControl)) return false;
  if ((response.headers.get('Vary') || '').trim() === '*') return false;
  return true;
}

/* Fetch one URL (bypassing the HTTP cache) and store it if allowed. */
async function precache(cache, url) {
  const response = await fetch(new Request(url, { cache: 'reload', credentials: 'same-origin' }));
  if (!isCacheable(response)) {
    throw new Error(`not cacheable: ${url} (${response.status})`);
  }
  await cache.put(url, response);
}

/* ------------------------------------------------------------------ install */

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      // The offline page is the whole point of the shell cache: required.
      const shell = await caches.open(SHELL_CACHE);
      await precache(shell, OFFLINE_URL);
      // Its stylesheet too (a file: the CSP forbids inline styles).
      await precache(await caches.open(STATIC_CACHE), OFFLINE_CSS);

      // Static bundle: best effort, one entry at a time so a single missing
      // file (e.g. a renamed bundle in dev) does not abort installation.
      const statics = await caches.open(STATIC_CACHE);
      await Promise.all(
        STATIC_ASSETS.map((url) =>
          precache(statics, url).catch((err) => {
            console.warn('[sw] optional precache skipped:', err.message || err);
          }),
        ),
      );

      await self.skipWaiting();
    })(),
  );
});

/* ----------------------------------------------------------------- activate */

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const keep = new Set([STATIC_CACHE, SHELL_CACHE]);
      const names = await caches.keys();
      await Promise.all(
        names
          .filter((name) => name.startsWith(CACHE_PREFIX) && !keep.has(name))
          .map((name) => caches.delete(name)),
      );

      // Lets navigations start while the worker boots; the response is used
      // as-is and never cached.
      if (self.registration.navigationPreload) {
        await self.registration.navigationPreload.enable();
      }

      await self.clients.claim();
    })(),
  );
});

/* -------------------------------------------------------------------- fetch */

self.addEventListener('fetch', (event) => {
  const { request } = event;

  if (request.method !== 'GET') return;

  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (isNeverHandled(url.pathname)) return;

  if (request.mode === 'navigate') {
    event.respondWith(navigationNetworkOnly(event));
    return;
  }

  // Partial (media) requests and explicitly authorised requests are not ours.
  if (request.headers.has('Range') || request.headers.has('Authorization')) return;

  if (isStaticAsset(url.pathname)) {
    event.respondWith(DEV ? staticNetworkFirst(event) : staleWhileRevalidate(event));
  }
  // Everything else: no respondWith, the browser handles it normally.
});

/*
 * Navigations: always from the network. The HTML is NOT stored anywhere
 * (see the privacy rule at the top). Only a network failure (fetch rejects)
 * falls back to the offline page; HTTP errors (404, 500…) are shown as the
 * server rendered them.
 */
async function navigationNetworkOnly(event) {
  try {
    const preloaded = await event.preloadResponse;
    if (preloaded) return preloaded;
    return await fetch(event.request);
  } catch (err) {
    const cache = await caches.open(SHELL_CACHE);
    const offline = await cache.match(OFFLINE_URL);
    if (offline) return offline;
    return new Response(
      '<!DOCTYPE html><html lang="en"><meta charset="utf-8"><title>Offline — Telehealth</title>' +
        '<h1>You are offline</h1><p>Nothing you typed has been sent. <a href="/">Try again</a></p></html>',
      { status: 503, headers: { 'Content-Type': 'text/html; charset=utf-8' } },
    );
  }
}

/* Fetch from the network and refresh the static cache when allowed. */
function fetchAndUpdate(event, cache) {
  return fetch(event.request).then((response) => {
    if (isCacheable(response)) {
      const copy = response.clone();
      event.waitUntil(cache.put(event.request, copy).catch(() => {}));
    }
    return response;
  });
}

/* Static assets: answer from cache at once, refresh in the background. */
async function staleWhileRevalidate(event) {
  const cache = await caches.open(STATIC_CACHE);
  const cached = await cache.match(event.request);
  const network = fetchAndUpdate(event, cache);

  if (cached) {
    // Keep the worker alive for the background refresh; ignore its failure.
    event.waitUntil(network.catch(() => {}));
    return cached;
  }
  try {
    return await network;
  } catch (err) {
    return Response.error();
  }
}

/* Dev builds: prefer fresh assets, fall back to the cache when offline. */
async function staticNetworkFirst(event) {
  const cache = await caches.open(STATIC_CACHE);
  try {
    return await fetchAndUpdate(event, cache);
  } catch (err) {
    const cached = await cache.match(event.request);
    return cached || Response.error();
  }
}
