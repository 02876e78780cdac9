import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import type { Limiter, Permit, Semaphore } from '@sluice/core';
import type { Hono } from 'hono';

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface Served {
  url: string;
  server: ServerType;
  close(): Promise<void>;
}

/** Serves `app` with @hono/node-server on a loopback port chosen by the OS. */
export async function serveApp(app: Hono<any>): Promise<Served> {
  const listening = deferred<AddressInfo>();
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
    listening.resolve(info),
  );
  const { port } = await listening.promise;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/**
 * A Limiter over `inner` that counts calls to `release()`, so a test can see that the
 * middleware releases once, not merely that the permit's idempotence hid a second call.
 */
export function countingLimiter(inner: Semaphore): Limiter & { releaseCalls: number } {
  const counter = {
    releaseCalls: 0,
    acquire: async (options?: Parameters<Limiter['acquire']>[0]) =>
      wrap(await inner.acquire(options)),
    tryAcquire: (weight?: number) => {
      const permit = inner.tryAcquire(weight);
      return permit && wrap(permit);
    },
  };
  const wrap = (permit: Permit): Permit => ({
    get weight() {
      return permit.weight;
    },
    get released() {
      return permit.released;
    },
    release() {
      counter.releaseCalls++;
      permit.release();
    },
    [Symbol.dispose]() {
      this.release();
    },
  });
  return counter;
}

/** Reads a whole body as text; used to finish a streamed response. */
export async function drain(response: Response): Promise<string> {
  return await response.text();
}

export async function firstChunk(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const { value } = await reader.read();
  return new TextDecoder().decode(value);
}

/**
 * Whether this Node's fetch lets the middleware see that a body was made from a string or
 * bytes (undici before 7: Node 20 and 22). Elsewhere such a body is watched like a stream.
 */
export const SEES_BODY_SOURCE = Number(process.versions.undici?.split('.')[0]) < 7;
