// @ts-check
// The Nest ConcurrencyGuard's own cost, without a framework around it: `canActivate` then the
// response's 'close' (what releases the permit), in a loop over a fake Fastify-shaped
// ExecutionContext, against a no-op guard in the same loop. Interleaved rounds, median of the
// per-round differences. A profiling aid for the `sluice concurrency` rows of `bench:http`:
//
//   node --expose-gc src/inject/nestjs-guard-loop.js            (from apps/bench)
//   node --expose-gc --cpu-prof src/inject/nestjs-guard-loop.js
//
// Env: N (requests per sample, default 200000), ROUNDS (default 10), PLATFORM (`fastify`, the
// default: the response is a reply whose `.raw` is the Node response; `express`: the Node
// response itself), NEST_DIST (another build of @sluice/nestjs to load, e.g. an older dist,
// for an A/B).
import 'reflect-metadata';
import { EventEmitter } from 'node:events';
import { Reflector } from '@nestjs/core';

/** @type {typeof import('@sluice/nestjs')} */
const nest = await import(process.env.NEST_DIST ?? '@sluice/nestjs');
const limiters = new nest.SluiceLimiters({ concurrency: { default: { limit: 10_000 } } });
const guard = new nest.ConcurrencyGuard(new Reflector(), limiters);
const noop = { canActivate: () => true };

class HelloController {
  hello() {}
}
const handler = HelloController.prototype.hello;

/** The Node response surface the guard reads (`reply.raw`). */
class RawResponse extends EventEmitter {
  destroyed = false;
  closed = false;
  writableFinished = false;
  headersSent = false;
  statusCode = 200;
  setHeader() {}
}
class Reply {
  /** @param {RawResponse} raw */
  constructor(raw) {
    this.raw = raw;
  }
  header() {
    return this;
  }
}
class Request {
  ip = '127.0.0.1';
  params = {};
}
class Context {
  /** @param {unknown[]} args */
  constructor(args) {
    this.args = args;
  }
  getType() {
    return 'http';
  }
  /** @param {number} i */
  getArgByIndex(i) {
    return this.args[i];
  }
  getHandler() {
    return handler;
  }
  getClass() {
    return HelloController;
  }
}

/** @param {{ canActivate(context: any): unknown }} g */
function once(g) {
  const raw = new RawResponse();
  const res = express ? raw : new Reply(raw);
  if (g.canActivate(new Context([new Request(), res, undefined])) !== true) {
    throw new Error('expected an uncontended guard to answer true at once');
  }
  raw.writableFinished = true;
  raw.closed = true;
  raw.emit('close');
}

const express = process.env.PLATFORM === 'express';
const n = Number(process.env.N ?? 200_000);
const gc = /** @type {{ gc?: () => void }} */ (globalThis).gc ?? (() => {});
/** @param {{ canActivate(context: any): unknown }} g */
function sample(g) {
  gc();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) once(g);
  return Number(process.hrtime.bigint() - start) / n;
}

for (let i = 0; i < 3; i++) {
  sample(noop);
  sample(guard);
}
/** @type {number[]} */
const added = [];
for (let round = 0; round < Number(process.env.ROUNDS ?? 10); round++) {
  // Alternate which goes first, so that neither always runs right after a gc().
  let base = 0;
  let with_ = 0;
  if (round % 2 === 0) {
    base = sample(noop);
    with_ = sample(guard);
  } else {
    with_ = sample(guard);
    base = sample(noop);
  }
  added.push(with_ - base);
}
added.sort((x, y) => x - y);
const at = (/** @type {number} */ q) => {
  const ns = Math.round(added[Math.floor(q * (added.length - 1))] ?? 0);
  return ns < 0 ? `−${-ns}` : `+${ns}`;
};
console.log(
  `ConcurrencyGuard (${express ? 'express' : 'fastify'}) over a no-op guard: ${at(0.5)} ns per request (IQR ${at(0.25)}…${at(0.75)}, ${added.length} rounds of ${n})`,
);
const available = limiters.concurrencyPolicy('default').limiter;
if ('available' in available && available.available !== 10_000) {
  throw new Error(`permits leaked: ${available.available} of 10000 available`);
}
