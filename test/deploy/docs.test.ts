/**
 * The operator docs stay true to the code: every relative link (and #anchor)
 * resolves, every `sluice <command>` they show exists in the CLI's command
 * table, every SLUICE_* name is a flag's variable or an error code, and every
 * deploy/ path named exists.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { agentCommand } from '../../src/agent/flags.js';
import { COMMANDS } from '../../src/cli/main.js';
import { ERROR_CODES } from '../../src/util/errors.js';
import { loadText, root } from './load.js';

const DOCS = ['install', 'upgrade', 'uninstall', 'troubleshooting', 'architecture', 'deploy'];

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string): string =>
  heading
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');
const anchors = (file: string): Set<string> =>
  new Set([...loadText(file).matchAll(/^#+ (.+)$/gm)].map((m) => slug(m[1] ?? '')));

const codes = new Set<string>(Object.values(ERROR_CODES));
const commands = new Set(COMMANDS.map((c) => c.def.name));
const envs = new Set(
  [agentCommand, ...COMMANDS.map((c) => c.def)].flatMap((d) => d.flags.map((f) => f.env)).filter(Boolean),
);

for (const doc of DOCS) {
  const file = `docs/${doc}.md`;
  const text = loadText(file);

  test(`${file}: relative links resolve`, () => {
    for (const [, target = ''] of text.matchAll(/\]\(([^)]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      const [rel = '', anchor] = target.split('#');
      const resolved = rel === '' ? file : path.join('docs', rel);
      assert.ok(existsSync(path.join(root, resolved)), `${target}: ${resolved} missing`);
      if (anchor !== undefined) assert.ok(anchors(resolved).has(anchor), `${target}: no heading #${anchor}`);
    }
  });

  test(`${file}: every sluice command shown exists`, () => {
    const code = [...text.matchAll(/```[a-z]*\n([\s\S]*?)```|`([^`\n]+)`/g)].map((m) => m[1] ?? m[2] ?? '');
    for (const [, name = ''] of code.join('\n').matchAll(/\bsluice ([a-z]+)\b/g)) {
      if (['agent', 'cleanup'].includes(name) || commands.has(name)) continue;
      assert.fail(`sluice ${name}: no such command`);
    }
  });

  test(`${file}: every SLUICE_* variable is a flag's`, () => {
    for (const [name] of text.matchAll(/\bSLUICE_[A-Z_]+\b/g)) assert.ok(envs.has(name) || codes.has(name), name);
  });

  test(`${file}: every deploy/ path named exists`, () => {
    for (const [p] of text.matchAll(/(?<![\w/])deploy\/[\w./-]*[\w/]/g)) assert.ok(existsSync(path.join(root, p)), p);
  });
}
