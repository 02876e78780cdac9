import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Reply } from './dashboard.js';
import { SSE_HEADERS } from './stats-stream.js';

/** Writes a {@link Reply} to a Node response (Express, Nest on Express, plain `node:http`). */
export function sendReply(res: ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, reply.headers).end(reply.body);
}

/**
 * Streams server-sent events to a Node response. It waits for the socket to drain before
 * reading on (so a slow client makes the stream drop frames), and cancels the stream when the
 * client leaves.
 */
export function sendStream(res: ServerResponse, body: ReadableStream<Uint8Array>): void {
  res.writeHead(200, SSE_HEADERS);
  res.flushHeaders();
  const reader = body.getReader();
  res.once('close', () => {
    reader.cancel().catch(() => {});
  });
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || res.destroyed) break;
        if (!res.write(value)) await drained(res);
      }
      res.end();
    } catch {
      res.destroy();
    }
  })();
}

/** Resolves when `res` can take more, or is closed. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** `http://<address>:<port>` of the socket `req` came in on: where this server can reach itself. */
export function originOf(req: IncomingMessage): string {
  const { localAddress = '127.0.0.1', localPort } = req.socket;
  const host = localAddress.includes(':') ? `[${localAddress}]` : localAddress;
  return `http://${host}:${localPort}`;
}
