import type { HttpBindings } from '@hono/node-server';
import {
  Dashboard,
  type DashboardOptions,
  originOf,
  type Reply,
  SSE_HEADERS,
} from '@sluice/demo-dashboard';
import { type Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

const send = (c: Context, { status, headers, body }: Reply) =>
  c.body(body, status as ContentfulStatusCode, headers);

/**
 * Watching the limiters, as every demo serves it (one source: apps/dashboard):
 * `GET /dashboard`, `GET /stats/stream` (server-sent events), `GET /metrics` (Prometheus) and
 * `POST /dashboard/burst` (the page's burst button; it needs @hono/node-server's bindings).
 */
export function dashboardRoutes(limiters: DashboardOptions['limiters']) {
  const dashboard = new Dashboard({ limiters });
  return new Hono<{ Bindings: HttpBindings }>()
    .get('/metrics', async (c) => send(c, await dashboard.metrics()))
    .get('/stats/stream', () => new Response(dashboard.stream(), { headers: SSE_HEADERS }))
    .get('/dashboard/:file?', (c) => send(c, dashboard.page(c.req.param('file'))))
    .post('/dashboard/burst', async (c) =>
      send(c, await dashboard.burst(originOf(c.env.incoming), c.req.query())),
    );
}
