// Runs the demo as `start` does: node dist/main.js (built by tsc with decorator metadata).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

export interface RunningDemo {
  child: ChildProcess;
  /** The first line it printed (`listening on <port>`). */
  firstLine: string;
  base: string;
}

/** Starts dist/main.js on a free port (`env` added); resolves once it printed its first line. */
export async function startMain(env: Record<string, string> = {}): Promise<RunningDemo> {
  // `turbo run test` builds first; run on its own, this builds a missing dist.
  if (!existsSync(join(root, 'dist', 'main.js'))) {
    execFileSync(
      join(root, '..', '..', 'node_modules', '.bin', 'tsc'),
      ['-p', 'tsconfig.build.json'],
      {
        cwd: root,
      },
    );
  }
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: root,
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const firstLine = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk;
      if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk;
    });
    child.on('exit', (code) => reject(new Error(`demo exited with ${code}: ${err}`)));
  });
  return { child, firstLine, base: `http://127.0.0.1:${firstLine.replace('listening on ', '')}` };
}
