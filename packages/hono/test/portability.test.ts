import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

const src = fileURLToPath(new URL('../src', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

describe('runs on any Hono runtime', () => {
  it('imports nothing from node: and no runtime-specific Hono adapter', () => {
    for (const file of sources(src)) {
      const text = readFileSync(file, 'utf8');
      expect(text, file).not.toMatch(
        /^(import|export)\s[^;'"]*from ['"](node:|@hono\/node-server|hono\/(bun|deno|cloudflare))/m,
      );
      expect(text, file).not.toMatch(/require\(/);
    }
  });

  it('starts no timer when imported or when a middleware is created', async () => {
    vi.useFakeTimers();
    try {
      vi.resetModules();
      const { concurrency, rateLimit } = await import('../src/index.js');
      concurrency({ limit: 2 });
      rateLimit({ capacity: 5, refillPerSecond: 1 });
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
