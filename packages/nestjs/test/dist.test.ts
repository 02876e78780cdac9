import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { get, platforms } from './helpers.js';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const built = join(root, 'dist', 'index.cjs');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

beforeAll(() => {
  // `turbo run test` builds first; run on its own, this builds what is missing or stale.
  if (!existsSync(built) || statSync(built).mtimeMs < newestSource(join(root, 'src'))) {
    execFileSync(join(root, '..', '..', 'node_modules', '.bin', 'tsup'), [], {
      cwd: root,
      stdio: 'pipe',
    });
  }
}, 120_000);

let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill('SIGTERM');
  child = undefined;
});

function start(platform: string): Promise<string> {
  const proc = spawn(process.execPath, [join(root, 'test', 'fixtures', 'dist-app.cjs'), platform], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      out += chunk;
      const m = /listening on (\d+)/.exec(out);
      if (m) resolve(`http://127.0.0.1:${m[1]}`);
    });
    proc.stderr?.on('data', (chunk: Buffer) => {
      err += chunk;
    });
    proc.on('exit', (code) => reject(new Error(`app exited with ${code}: ${err}`)));
  });
}

describe.each(platforms)('the built CommonJS package on %s', (platform) => {
  it('boots a Nest app whose guards, decorators and @InjectLimiter work', async () => {
    const url = await start(platform);
    const [a, b] = await Promise.all([get(`${url}/work`), get(`${url}/work`)]);
    expect([a.status, b.status].sort()).toEqual([200, 503]);
    const refused = a.status === 503 ? a : b;
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(refused.body.reason).toBe('queue_full');

    expect((await get(`${url}/hello`)).status).toBe(200);
    const limited = await get(`${url}/hello`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);

    const stats = await get(`${url}/stats`);
    expect(stats.body.semaphore).toBe(true);
    expect(stats.body.work).toMatchObject({ capacity: 1, acquired: 1, rejected: 1 });
  });
});
