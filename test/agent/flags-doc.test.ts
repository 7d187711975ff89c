/** docs/flags.md is generated from the flag tables: it must match them exactly. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { flagsMarkdown } from '../../src/cli/flags-doc.js';
import { COMMANDS } from '../../src/cli/main.js';

test('docs/flags.md matches the CLI flag tables (run `npm run docs:flags` after changing a flag)', () => {
  const file = readFileSync(new URL('../../docs/flags.md', import.meta.url), 'utf8');
  assert.equal(file, flagsMarkdown(COMMANDS.map((c) => c.def)));
});

test('every agent flag is documented with its environment variable', () => {
  const agent = COMMANDS.find((c) => c.def.name === 'agent');
  assert.ok(agent !== undefined);
  const doc = flagsMarkdown([agent.def]);
  for (const f of agent.def.flags) assert.match(doc, new RegExp(`--${f.name}\\b[^\\n]*\`${f.env ?? 'MISSING'}\``));
});
