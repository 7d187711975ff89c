#!/usr/bin/env node
// Writes docs/flags.md from the CLI's flag tables. Run through tsx:
//   npm run docs:flags
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { flagsMarkdown } from '../src/cli/flags-doc.ts';
import { COMMANDS } from '../src/cli/main.ts';

const target = fileURLToPath(new URL('../docs/flags.md', import.meta.url));
writeFileSync(target, flagsMarkdown(COMMANDS.map((c) => c.def)));
process.stdout.write(`wrote ${target}\n`);
