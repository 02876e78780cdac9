// Which response bodies count as already in memory. Node's fetch (undici) before version 7
// keeps the value a body was made from where the probe finds it; undici 7 (Node 24) keeps it
// in private fields, and there every body is watched as on Bun or Deno.
import { describe, expect, it } from 'vitest';
import { bodyInMemory } from '../src/internal/body-in-memory.js';
import { SEES_BODY_SOURCE } from './helpers.js';

describe('bodyInMemory', () => {
  it.each([
    ['a string', () => new Response('hello')],
    ['an empty string', () => new Response('')],
    ['a Uint8Array', () => new Response(new Uint8Array([1, 2, 3]))],
    ['an ArrayBuffer', () => new Response(new ArrayBuffer(8))],
    ['a DataView', () => new Response(new DataView(new ArrayBuffer(8)))],
    ['URLSearchParams', () => new Response(new URLSearchParams('a=1'))],
    ['Response.json()', () => Response.json({ a: 1 })],
    ['a clone of a string body', () => new Response('hello').clone()],
  ])('%s: in memory (where the runtime tells)', (_label, make) => {
    expect(bodyInMemory(make())).toBe(SEES_BODY_SOURCE);
  });

  it.each([
    ['a ReadableStream', () => new Response(new ReadableStream())],
    ['a Blob', () => new Response(new Blob(['hello']))],
    ['FormData', () => new Response(new FormData())],
    ['no body', () => new Response(null, { status: 204 })],
    [
      "a response rebuilt from another's body stream",
      () => {
        const first = new Response('hello');
        return new Response(first.body, first);
      },
    ],
  ])('%s: not in memory', (_label, make) => {
    expect(bodyInMemory(make())).toBe(false);
  });

  it('a Response-like object of another class is not in memory', () => {
    const lookalike = Object.create(Response.prototype) as Response;
    expect(bodyInMemory(lookalike)).toBe(false);
  });
});
