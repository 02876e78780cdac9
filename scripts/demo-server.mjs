// Shared by the demo scripts (demo.mjs, demo-fleet.mjs): start a demo server and wait for its
// `listening on <port>` line, stop it, print a table.
import { spawn } from 'node:child_process';

const STARTUP_TIMEOUT_MS = 20_000;

/** Starts `node <main>` with PORT=0 (plus `env`) and resolves once it prints `listening on <port>`. */
export function startServer(main, env = {}) {
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, PORT: '0', NODE_ENV: process.env.NODE_ENV ?? 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const port = new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(new Error(`no "listening on <port>" within ${STARTUP_TIMEOUT_MS} ms:\n${output}`)),
      STARTUP_TIMEOUT_MS,
    );
    const onData = (chunk) => {
      output += chunk;
      const match = /listening on (\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', (chunk) => {
      output += chunk;
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${signal ?? code}) before listening:\n${output}`));
    });
  });
  return { child, port };
}

export async function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
  await exited;
  clearTimeout(timer);
}

export function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    `  ${cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('   ')}`;
  return [
    line(headers),
    `  ${widths.map((w) => '-'.repeat(w)).join('   ')}`,
    ...rows.map(line),
  ].join('\n');
}
