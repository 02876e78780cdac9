import { createServer } from 'node:http';
import type { HttpVariant } from './types.js';

/** Plain node:http: the ceiling every framework row sits under (and the driver's test fixture). */
export const variants: HttpVariant[] = [
  {
    name: 'bare',
    start: () =>
      new Promise((resolve) => {
        const server = createServer((_req, res) => {
          res.setHeader('content-type', 'text/plain');
          res.end('hello');
        });
        server.listen(0, '127.0.0.1', () => {
          const address = server.address();
          const port = typeof address === 'object' && address ? address.port : 0;
          resolve({
            port,
            close: () =>
              new Promise<void>((done) => {
                server.closeAllConnections();
                server.close(() => done());
              }),
          });
        });
      }),
  },
];
