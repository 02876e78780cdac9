import { request as httpRequest } from 'node:http';
import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';

export type Platform = 'express' | 'fastify';
export const platforms: Platform[] = ['express', 'fastify'];

export interface TestApp {
  app: INestApplication;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Boots a real Nest app on the platform, listening on 127.0.0.1, port 0. */
export async function boot(platform: Platform, metadata: ModuleMetadata): Promise<TestApp> {
  @Module(metadata)
  class TestModule {}
  const app =
    platform === 'express'
      ? await NestFactory.create(TestModule, new ExpressAdapter(), { logger: false })
      : await NestFactory.create(TestModule, new FastifyAdapter(), { logger: false });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return {
    app,
    port: address.port,
    url: `http://127.0.0.1:${address.port}`,
    close: () => app.close(),
  };
}

export interface Answer {
  status: number;
  headers: Headers;
  body: any;
  /** Milliseconds from sending to the whole body received. */
  elapsed: number;
}

/** GET with fetch; the body parsed as JSON when it is JSON. */
export async function get(url: string, init?: RequestInit): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = text;
  if (/json/.test(res.headers.get('content-type') ?? '')) body = JSON.parse(text);
  return { status: res.status, headers: res.headers, body, elapsed: performance.now() - started };
}

/** A request whose socket the test can destroy (a client that goes away). */
export function openRequest(url: string): { destroy(): void; done: Promise<void> } {
  const req = httpRequest(url, { agent: false });
  const done = new Promise<void>((resolve) => {
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.on('response', (res) => res.resume());
  });
  req.end();
  return { destroy: () => req.destroy(), done };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns true, or fails after `timeoutMs`. */
export async function until(
  check: () => boolean,
  timeoutMs = 3000,
  what = 'condition',
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(2);
  }
}

/** A promise with its resolve function outside (Node 20 has no Promise.withResolvers). */
export function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
