// Child process: `node [--import tsx] src/http/serve.js <framework> list | <variant name>`.
// Prints one JSON line on stdout: the variant names, or `{"port": n}` once listening (or
// `{"error": "..."}`), then serves until SIGTERM or stdin closes. Each `cpu` line on stdin is
// answered with `{"cpuUs": n}`: the process's user + system CPU time so far, in microseconds.
// The servers of a framework are `<framework>-servers.ts` (the driver adds tsx) or, where tsx
// would alter the framework's own code, plain `<framework>-servers.js` (run on plain Node).
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';

const [framework, which] = process.argv.slice(2);

/** @param {unknown} message */
function say(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

try {
  const js = new URL(`./${framework}-servers.js`, import.meta.url);
  const file = existsSync(js) ? js : new URL(`./${framework}-servers.ts`, import.meta.url);
  /** @type {{ variants: import('./types.js').HttpVariant[] }} */
  const mod = await import(file.href);
  if (which === 'list') {
    say({ variants: mod.variants.map((v) => v.name) });
    process.exit(0);
  }
  const variant = mod.variants.find((v) => v.name === which);
  if (!variant) throw new Error(`no variant named ${which}`);
  const server = await variant.start();
  let closing = false;
  const stop = async () => {
    if (closing) return;
    closing = true;
    await server.close().catch(() => {});
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  const commands = createInterface({ input: process.stdin });
  commands.on('line', (line) => {
    if (line.trim() !== 'cpu') return;
    const { user, system } = process.cpuUsage();
    say({ cpuUs: user + system });
  });
  commands.on('close', stop);
  say({ port: server.port });
} catch (error) {
  say({ error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}
