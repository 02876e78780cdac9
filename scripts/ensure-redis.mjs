#!/usr/bin/env node
// Makes sure `redis-server` is on PATH before @sluice/redis's tests start their own servers.
// Missing, and apt-get available as root: installs Debian's redis-server package (once,
// non-interactively; the service it would start is not used). Otherwise stops with how to
// install it.
import { execFileSync, spawnSync } from 'node:child_process';

const found = () => spawnSync('redis-server', ['--version'], { encoding: 'utf8' });

let probe = found();
if (probe.status === 0) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
if (isRoot && hasApt) {
  console.error('redis-server not found: installing it with apt-get (Debian package redis-server)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'redis-server'], {
      stdio: 'inherit',
      env,
    });
  } catch (error) {
    console.error(`apt-get could not install redis-server: ${error.message}`);
  }
  probe = found();
  if (probe.status === 0) {
    console.error(`installed: ${probe.stdout.trim()}`);
    process.exit(0);
  }
}

console.error(
  [
    "@sluice/redis's tests need redis-server (Redis 6.2 or newer) on PATH, and it is not there.",
    'Install it, then run the tests again:',
    '  Debian/Ubuntu: sudo apt-get install -y redis-server',
    '  macOS:         brew install redis',
    '  other:         https://redis.io/docs/latest/operate/oss_and_stack/install/',
  ].join('\n'),
);
process.exit(1);
