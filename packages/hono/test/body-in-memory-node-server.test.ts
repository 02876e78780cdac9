// @hono/node-server's `serve()` replaces the global Response with a lighter subclass. Bodies of
// the runtime's own Response are still seen in memory, whichever ran first; the lightweight
// responses keep no such state and are watched like streams (on that server 'close' is used).
import { getRequestListener } from '@hono/node-server';
import { expect, it } from 'vitest';
import { bodyInMemory } from '../src/internal/body-in-memory.js';
import { SEES_BODY_SOURCE } from './helpers.js';

it("after the global Response was replaced, the runtime's own responses are still seen", () => {
  const NativeResponse = Response;
  getRequestListener(() => new Response(null));
  expect(Response).not.toBe(NativeResponse);
  // Probed for the first time now, with the lightweight class installed.
  expect(bodyInMemory(new NativeResponse('hello'))).toBe(SEES_BODY_SOURCE);
  expect(bodyInMemory(new NativeResponse(new ReadableStream()))).toBe(false);
  expect(bodyInMemory(new Response('hello'))).toBe(false);
});
