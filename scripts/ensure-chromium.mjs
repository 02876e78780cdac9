#!/usr/bin/env node
// Makes sure Debian's Chromium is there for the dashboard's browser tests (playwright-core
// drives it; no browser is downloaded). Finds `chromium` on PATH (or CHROMIUM_PATH); else, as
// root with apt-get, installs the `chromium` package; else says how to get it and fails.
//
//   node scripts/ensure-chromium.mjs        prints the path of the chromium it found or installed

import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

function find() {
  return process.env.CHROMIUM_PATH || onPath('chromium');
}

let found = find();
if (!found && process.platform === 'linux' && process.getuid?.() === 0 && onPath('apt-get')) {
  console.error('ensure-chromium: chromium is not on PATH; installing it with apt-get…');
  const apt = (args) =>
    execFileSync('apt-get', args, {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  try {
    apt(['update']);
    apt(['install', '-y', 'chromium']);
  } catch (error) {
    console.error(`ensure-chromium: apt-get failed: ${error.message}`);
  }
  found = find();
}
if (!found) {
  console.error(
    [
      'ensure-chromium: the dashboard browser tests need Chromium, and none was found on PATH.',
      'Install it, then run the tests again:',
      '  Debian/Ubuntu:  sudo apt-get install chromium   (Ubuntu: chromium-browser)',
      '  elsewhere:      install Chromium or Chrome and set CHROMIUM_PATH=/path/to/the/binary',
    ].join('\n'),
  );
  process.exit(1);
}
console.log(found);
