import { serve } from '@hono/node-server';
import { closeDashboards } from '@sluice/demo-dashboard';
import { createApp } from './app.js';

const port = Number(process.env.PORT ?? 3000);
const server = serve({ fetch: createApp().fetch, port, hostname: '127.0.0.1' }, (info) => {
  console.log(`listening on ${info.port}`);
});

server.on('error', (error) => {
  console.error(error);
  process.exit(1);
});

function shutdown(): void {
  server.close(); // finish what is in flight, accept nothing new
  (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  closeDashboards(); // end the /stats/stream responses, which would otherwise never finish
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
