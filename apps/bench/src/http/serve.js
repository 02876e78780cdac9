// Child process: `node [--import tsx] src/http/serve.js <framework> list | <variant name>`.
// Prints one JSON line on stdout: the variant names, or `{"port": n}` once listening (or
// `{"error": "..."}`), then serves until SIGTERM or stdin closes. The servers of a framework
// are `<framework>-servers.ts` (the driver adds tsx) or, where tsx would alter the framework's
// own code, plain `<framework>-servers.js` (run on plain Node).
import { existsSync } from 'node:fs';

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
  process.stdin.on('end', stop);
  process.stdin.resume();
  say({ port: server.port });
} catch (error) {
  say({ error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}
