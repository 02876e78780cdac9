import {
  Dashboard,
  type DashboardOptions,
  originOf,
  sendReply,
  sendStream,
} from '@sluice/demo-dashboard';
import { Router } from 'express';

/**
 * Watching the limiters, as every demo serves it (one source: apps/dashboard):
 * `GET /dashboard`, `GET /stats/stream` (server-sent events), `GET /metrics` (Prometheus) and
 * `POST /dashboard/burst` (the page's burst button).
 */
export function dashboardRoutes(limiters: DashboardOptions['limiters']): Router {
  const dashboard = new Dashboard({ limiters });
  return Router()
    .get('/metrics', async (_req, res) => sendReply(res, await dashboard.metrics()))
    .get('/stats/stream', (_req, res) => sendStream(res, dashboard.stream()))
    .get('/dashboard{/:file}', (req, res) => sendReply(res, dashboard.page(req.params.file)))
    .post('/dashboard/burst', async (req, res) =>
      sendReply(res, await dashboard.burst(originOf(req), req.query)),
    );
}
