import { once } from 'node:events';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Limiter, Permit } from '@sluice/core';
import express5 from 'express';
import express4 from 'express4';
import { expect } from 'vitest';

export type ExpressFactory = typeof express5;

/** One behavioural suite, run over both majors. */
export const frameworks: [string, ExpressFactory][] = [
  ['express 5', express5],
  ['express 4', express4],
];

export interface Running {
  port: number;
  server: http.Server;
  close(): Promise<void>;
}

export async function listen(app: http.RequestListener): Promise<Running> {
  const server = http.createServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    port,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** ms from sending to the end of the body */
  ms: number;
  /** performance.now() when the body ended */
  at: number;
}

export interface RequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  agent?: http.Agent | false;
}

/** A real HTTP request with node:http; resolves with the whole response. */
export function request(port: number, path: string, init: RequestInit = {}): Promise<Reply> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: init.method ?? 'GET',
        headers: init.headers,
        agent: init.agent ?? false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => {
          const at = performance.now();
          resolve({ status: res.statusCode!, headers: res.headers, body, ms: at - started, at });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/**
 * Starts a request and returns the ClientRequest, so a test can destroy it (the client goes
 * away). Errors from the destroy are expected and swallowed.
 */
export function openRequest(
  port: number,
  path: string,
  init: RequestInit = {},
): { req: http.ClientRequest; response: Promise<http.IncomingMessage> } {
  const req = http.request({
    host: '127.0.0.1',
    port,
    path,
    method: init.method ?? 'GET',
    headers: init.headers,
    agent: init.agent ?? false,
  });
  const response = new Promise<http.IncomingMessage>((resolve) => req.on('response', resolve));
  req.on('error', () => {});
  req.end(init.body);
  return { req, response };
}

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

/**
 * Wraps a limiter and counts what passes through it: grants, and every call to a permit's
 * release (counted even when the permit was already released, to prove "exactly once").
 */
export function counting(inner: Limiter): Limiter & {
  acquired: number;
  releaseCalls: number;
  held: number;
} {
  const counter = {
    acquired: 0,
    releaseCalls: 0,
    get held() {
      return counter.acquired - counter.releaseCalls;
    },
    wrap(permit: Permit): Permit {
      counter.acquired++;
      return {
        weight: permit.weight,
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
      };
    },
    async acquire(options?: Parameters<Limiter['acquire']>[0]) {
      return counter.wrap(await inner.acquire(options));
    },
    tryAcquire(weight?: number) {
      const permit = inner.tryAcquire?.(weight);
      return permit === undefined ? undefined : counter.wrap(permit);
    },
  };
  return counter;
}

/** Every rejection: problem+json body naming `reason`, integer Retry-After >= 1. */
export function expectProblem(reply: Reply, status: number, reason: string): void {
  expect(reply.status).toBe(status);
  expect(reply.headers['content-type']).toBe('application/problem+json');
  const retryAfter = reply.headers['retry-after'];
  expect(retryAfter).toMatch(/^[1-9][0-9]*$/);
  const body = JSON.parse(reply.body);
  expect(body).toMatchObject({
    status,
    reason,
    type: expect.any(String),
    title: expect.any(String),
  });
  expect(typeof body.detail).toBe('string');
  expect(body.retryAfter).toBe(Number(retryAfter));
}

export function reasonOf(reply: Reply): string {
  if (reply.status < 400) return String(reply.status);
  try {
    return `${reply.status} ${JSON.parse(reply.body).reason}`;
  } catch {
    return String(reply.status);
  }
}

export function tally(replies: Reply[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const reply of replies) {
    const label = reasonOf(reply);
    counts[label] = (counts[label] ?? 0) + 1;
  }
  return counts;
}
