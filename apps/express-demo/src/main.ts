import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeDashboards } from '@sluice/demo-dashboard';
import { createApp } from './app.js';

const port = Number(process.env.PORT ?? 3000);
const server = http.createServer(createApp());

server.on('error', (error) => {
  console.error(error);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  console.log(`listening on ${(server.address() as AddressInfo).port}`);
});

function shutdown(): void {
  server.close(); // finish what is in flight, accept nothing new
  server.closeIdleConnections();
  closeDashboards(); // end the /stats/stream responses, which would otherwise never finish
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
