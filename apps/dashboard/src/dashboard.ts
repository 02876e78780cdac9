import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Collector, type CollectorOptions } from './collector.js';
import { PrometheusMetrics } from './prometheus-metrics.js';
import { SSE_HEADERS, statsStream } from './stats-stream.js';
import { SHED_REASONS, type WatchedLimiter } from './watched-limiter.js';

export interface DashboardOptions extends CollectorOptions {
  /** The limiters to watch, by the name the page and `/metrics` show. */
  limiters: Record<string, WatchedLimiter>;
  /** Route the burst button fires at, with `?ms=<burstMs>`. Default `'/work'`. */
  burstRoute?: string;
  /** Requests in one burst. Default 40. */
  burstRequests?: number;
  /** `ms` each burst request asks for. Default 600 (on the demos: some get in after a wait, some time out). */
  burstMs?: number;
  /** Time between `/stats/stream` frames, in ms. Default 250. */
  intervalMs?: number;
}

/** A finished answer as plain data; each framework only writes it out. */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Dashboards not closed yet, so a process's shutdown can end their streams in one call. */
const open = new Set<Dashboard>();
const MAX_BURST_REQUESTS = 500;
const MAX_BURST_MS = 10_000;
const staticDir = new URL('../static/', import.meta.url);
const require = createRequire(import.meta.url);
const TYPES = { html: 'text/html', js: 'text/javascript', css: 'text/css' } as const;
/** The files under /dashboard/: ours from static/, uPlot's straight from its installed package. */
const FILES: Record<string, { path: string | URL; type: keyof typeof TYPES }> = {
  '': { path: new URL('dashboard.html', staticDir), type: 'html' },
  'dashboard.js': { path: new URL('dashboard.js', staticDir), type: 'js' },
  'dashboard.css': { path: new URL('dashboard.css', staticDir), type: 'css' },
  'uplot.js': { path: require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'js' },
  'uplot.css': { path: require.resolve('uplot/dist/uPlot.min.css'), type: 'css' },
};

/**
 * Everything the demos serve for watching their limiters, framework-free:
 * - `GET /dashboard` and `GET /dashboard/<file>`: {@link Dashboard.page}
 * - `GET /stats/stream`: {@link Dashboard.stream} with {@link SSE_HEADERS}
 * - `POST /dashboard/burst`: {@link Dashboard.burst}
 * - `GET /metrics`: {@link Dashboard.metrics}
 *
 * @example
 * const dashboard = new Dashboard({ limiters: { work } });
 * app.get('/metrics', async (c) => {
 *   const { status, headers, body } = await dashboard.metrics();
 *   return c.body(body, status, headers);
 * });
 */
export class Dashboard {
  readonly collector: Collector;
  readonly prometheus: PrometheusMetrics;
  readonly #intervalMs: number;
  readonly #burst: { route: string; requests: number; ms: number };
  readonly #html: string;
  readonly #closed = new AbortController();
  readonly #files = new Map<string, Reply>();

  constructor(options: DashboardOptions) {
    const { limiters, burstRoute = '/work', burstRequests = 40, burstMs = 600 } = options;
    this.#intervalMs = options.intervalMs ?? 250;
    if (typeof burstRoute !== 'string' || !burstRoute.startsWith('/')) {
      throw new TypeError(
        `Expected \`burstRoute\` to be a path starting with /, got ${burstRoute}`,
      );
    }
    for (const [name, value] of Object.entries({ burstRequests, burstMs })) {
      if (!Number.isInteger(value) || value < 1) {
        throw new TypeError(`Expected \`${name}\` to be a positive integer, got ${value}`);
      }
    }
    this.#burst = { route: burstRoute, requests: burstRequests, ms: burstMs };
    this.collector = new Collector(limiters, options);
    this.prometheus = new PrometheusMetrics(limiters);
    // The page reads its settings from a JSON island; `<` is escaped so nothing ends the script.
    const config = JSON.stringify({
      burst: {
        route: burstRoute,
        requests: burstRequests,
        ms: burstMs,
        endpoint: '/dashboard/burst',
      },
      reasons: SHED_REASONS,
      streamPath: '/stats/stream',
      statsPath: '/stats',
    }).replaceAll('<', '\\u003c');
    this.#html = read('').replace('"__SLUICE_CONFIG__"', config);
    open.add(this);
  }

  /** `GET /dashboard` (`file` empty or undefined) and `GET /dashboard/<file>`; 404 otherwise. */
  page(file = ''): Reply {
    let reply = this.#files.get(file);
    if (!reply) {
      const known = FILES[file];
      if (!known) {
        return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'Not Found' };
      }
      reply = {
        status: 200,
        headers: {
          'content-type': `${TYPES[known.type]}; charset=utf-8`,
          'cache-control': 'no-cache',
          'x-content-type-options': 'nosniff',
        },
        body: file === '' ? this.#html : read(file),
      };
      this.#files.set(file, reply);
    }
    return reply;
  }

  /** `GET /stats/stream`: serve with {@link SSE_HEADERS}; ends when the client leaves or on close(). */
  stream(): ReadableStream<Uint8Array> {
    return statsStream(() => this.collector.snapshot(), {
      intervalMs: this.#intervalMs,
      signal: this.#closed.signal,
    });
  }

  /**
   * `POST /dashboard/burst?requests=N&ms=M`: fires N concurrent `GET <burstRoute>?ms=M` at
   * `origin` (this server's own address, see `originOf`) and answers how they ended. The burst
   * comes from the server because a browser opens at most 6 connections to one host, which is
   * too few to overflow the queue.
   */
  async burst(origin: string, query: { requests?: unknown; ms?: unknown } = {}): Promise<Reply> {
    const requests = clampInt(query.requests, this.#burst.requests, 1, MAX_BURST_REQUESTS);
    const ms = clampInt(query.ms, this.#burst.ms, 0, MAX_BURST_MS);
    const url = new URL(`${this.#burst.route}?ms=${ms}`, origin);
    const outcomes = await Promise.all(
      Array.from({ length: requests }, async () => {
        try {
          const response = await fetch(url, { signal: this.#closed.signal });
          const body = (await response.json().catch(() => ({}))) as { reason?: unknown };
          if (response.ok) return 'ok';
          return typeof body.reason === 'string' ? body.reason : `status_${response.status}`;
        } catch {
          return 'network_error';
        }
      }),
    );
    const counts: Record<string, number> = {};
    for (const outcome of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
    return {
      status: 200,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ url: `${url.pathname}${url.search}`, requests, outcomes: counts }),
    };
  }

  /** `GET /metrics` in Prometheus text format. */
  async metrics(): Promise<Reply> {
    return {
      status: 200,
      headers: { 'content-type': this.prometheus.contentType },
      body: await this.prometheus.text(),
    };
  }

  /** Ends every open stream and unsubscribes from the limiters (at shutdown); idempotent. */
  close(): void {
    open.delete(this);
    this.#closed.abort();
    this.collector.close();
    this.prometheus.close();
  }
}

/**
 * Closes every Dashboard of this process: call it at shutdown, or the open `/stats/stream`
 * responses keep `server.close()` waiting forever.
 */
export function closeDashboards(): void {
  for (const dashboard of open) dashboard.close();
}

/** An integer query parameter within [min, max]; `fallback` when it is missing or not a number. */
function clampInt(value: unknown, fallback: number, min: number, max: number): number {
  const number = value === undefined || value === '' ? Number.NaN : Number(value);
  return Number.isFinite(number) ? Math.min(max, Math.max(min, Math.round(number))) : fallback;
}

function read(file: string): string {
  return readFileSync(FILES[file]!.path, 'utf8');
}

export { SSE_HEADERS };
