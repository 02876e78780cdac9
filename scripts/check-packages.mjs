// Packs every published @sluice/* package as `pnpm publish` would and checks the tarballs:
// no `workspace:` protocol left in the manifest, publint clean, are-the-types-wrong clean.
// Run after a build: `pnpm check:packages`.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const out = join(root, '.pack');
const pnpm = ['--yes', 'pnpm@10.34.9'];
rmSync(out, { recursive: true, force: true });
mkdirSync(out);

const run = (cmd, args, cwd = root) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

const failures = [];
const packages = readdirSync(join(root, 'packages'))
  .map((dir) => join(root, 'packages', dir))
  .filter((dir) => !JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).private);

for (const dir of packages) {
  const { name } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  run('npx', [...pnpm, 'pack', '--pack-destination', out], dir);
  const tarball = readdirSync(out).find(
    (file) =>
      file.startsWith(`${name.replace('@', '').replace('/', '-')}-`) && file.endsWith('.tgz'),
  );
  if (!tarball) {
    failures.push(`${name}: no tarball was packed`);
    continue;
  }
  const path = join(out, tarball);
  const manifest = run('tar', ['-xzOf', path, 'package/package.json']);
  if (manifest.includes('workspace:'))
    failures.push(`${name}: packed package.json still has workspace:`);

  for (const [label, cmd, args] of [
    ['publint', 'npx', ['publint', 'run', path, '--strict', '--level', 'warning']],
    ['attw', 'npx', ['attw', path, '--format', 'table-flipped', '--no-emoji']],
  ]) {
    try {
      const text = run(cmd, args);
      console.log(`${name} ${label}: ok\n${text.trim()}\n`);
    } catch (error) {
      failures.push(`${name} ${label}:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    }
  }
}

if (failures.length > 0) {
  console.error(failures.join('\n\n'));
  process.exit(1);
}
console.log(`packaging: ${packages.length} packages checked, all clean`);
