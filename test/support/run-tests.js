#!/usr/bin/env node
// Runs test/**/*.test.ts under node:test. Node 20's `node --test` does not
// expand globs (21+ does), so the files are found here and passed explicitly.
//
//   node test/support/run-tests.js                   every test file
//   node test/support/run-tests.js compiler ebpf/    files whose path contains any word
//   node test/support/run-tests.js --test-name-pattern=ports compiler
//
// Arguments starting with "-" are passed to node before the file list.

import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { constants } from 'node:os';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const testDir = join(root, 'test');
const reporter = fileURLToPath(new URL('./summary-reporter.js', import.meta.url));

/** @param {string} dir @returns {string[]} */
function findTests(dir) {
  /** @type {string[]} */
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findTests(full));
    else if (entry.isFile() && entry.name.endsWith('.test.ts')) found.push(full);
  }
  return found;
}

const args = process.argv.slice(2);
const nodeFlags = args.filter((a) => a.startsWith('-'));
const filters = args.filter((a) => !a.startsWith('-'));

const files = findTests(testDir)
  .map((f) => relative(root, f).split(sep).join('/'))
  .filter((f) => filters.length === 0 || filters.some((word) => f.includes(word)))
  .sort();

if (files.length === 0) {
  if (filters.length > 0) {
    process.stderr.write(`run-tests: no test file under test/ matches ${filters.join(', ')}\n`);
    process.exit(1);
  }
  // Never call `node --test` without files: it would fall back to its own
  // default patterns and pick up test/**/*.js (this script included).
  process.stdout.write('0 passed, 0 failed, 0 skipped\n');
  process.exit(0);
}

const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=1',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${reporter}`,
    '--test-reporter-destination=stdout',
    ...nodeFlags,
    ...files,
  ],
  { cwd: root, stdio: 'inherit' },
);

for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.on(signal, () => child.kill(signal));
}

child.on('exit', (code, signal) => {
  process.exitCode = code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0));
});
