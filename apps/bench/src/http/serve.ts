// Child process: `node --import tsx src/http/serve.ts <framework> list | <variant name>`.
// Prints one JSON line on stdout: the variant names, or `{"port": n}` once listening (or
// `{"error": "..."}`), then serves until SIGTERM or stdin closes.
import type { HttpVariant } from './types.js';

const [framework, which] = process.argv.slice(2);

function say(message: unknown): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

try {
  const mod = (await import(`./${framework}-servers.ts`)) as { variants: HttpVariant[] };
  if (which === 'list') {
    say({ variants: mod.variants.map((v) => v.name) });
    process.exit(0);
  }
  const variant = mod.variants.find((v) => v.name === which);
  if (!variant) throw new Error(`no variant named ${which}`);
  const server = await variant.start();
  let closing = false;
  const stop = async (): Promise<void> => {
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
