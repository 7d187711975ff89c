#!/usr/bin/env node
// Entry point installed as `sluice`: runs the compiled CLI from dist/.

import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);

if (!existsSync(entry)) {
  process.stderr.write('sluice: dist/ is missing; run `npm run build` first\n');
  process.exit(2);
}

const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
