/**
 * The Dockerfile, checked without Docker: base images pinned to exact
 * versions, the build stage runs only the project's own npm scripts, every
 * path it copies exists after the README's build (`npm run build`, which CI
 * runs before the tests) and is sent by .dockerignore, and the runtime image
 * is laid out the way the code finds its files.
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadText, root } from './load.js';

interface Instruction {
  readonly op: string;
  readonly args: string;
  readonly stage: number;
}

/** Instructions in order, continuation lines joined, comments dropped; `stage` counts FROMs from 0. */
function parseDockerfile(text: string): Instruction[] {
  const joined = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ');
  let stage = -1;
  return joined
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [, op = '', args = ''] = /^\s*(\S+)\s+(.*)$/.exec(l) ?? [];
      if (op.toUpperCase() === 'FROM') stage += 1;
      return { op: op.toUpperCase(), args: args.replace(/\s+/g, ' ').trim(), stage };
    });
}

const dockerfile = parseDockerfile(loadText('Dockerfile'));
const scripts = (JSON.parse(loadText('package.json')) as { scripts: Record<string, string> }).scripts;
const of = (op: string, stage?: number): Instruction[] =>
  dockerfile.filter((i) => i.op === op && (stage === undefined || i.stage === stage));
const froms = of('FROM');
const buildStage = 0;
const runtimeStage = froms.length - 1;

/** COPY's sources and destination, `--from=` and `--chown=` options apart. */
function copyParts(args: string): { from: string | undefined; sources: string[]; dest: string } {
  const words = args.split(' ');
  const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
  const rest = words.filter((w) => !w.startsWith('--'));
  return { from, sources: rest.slice(0, -1), dest: rest.at(-1) ?? '' };
}

test('two stages: a named build stage and a runtime stage', () => {
  assert.equal(froms.length, 2);
  assert.match(froms[buildStage]?.args ?? '', / AS build$/i);
});

for (const f of froms) {
  const image = f.args.split(' ')[0] ?? '';
  test(`FROM ${image}: pinned to an exact release`, () => {
    const tag = image.split(':')[1] ?? '';
    assert.notEqual(tag, '', 'no tag: means latest');
    assert.doesNotMatch(tag, /latest/);
    // node:20.20.2-bookworm(-slim) or debian:bookworm-20251117-slim; a digest pin is fine too.
    assert.ok(/^\d+\.\d+\.\d+-/.test(tag) || /-\d{8}(-slim)?$/.test(tag) || image.includes('@sha256:'), tag);
  });
}

test('build stage: apt installs the BPF toolchain; npm runs only ci, prune and scripts of package.json', () => {
  const runs = of('RUN', buildStage).map((i) => i.args);
  assert.match(runs.join('\n'), /apt-get install -y --no-install-recommends clang llvm libbpf-dev make/);
  const npm = runs.flatMap((r) => r.split(/&&|;/)).filter((c) => /\bnpm\b/.test(c));
  for (const c of npm) {
    const [, verb = '', arg = ''] = /npm (\S+)\s*(\S*)/.exec(c) ?? [];
    if (verb === 'run') assert.ok(arg in scripts, `npm run ${arg}: no such script in package.json`);
    else assert.ok(verb === 'ci' || (verb === 'prune' && arg === '--omit=dev'), `unexpected: ${c.trim()}`);
  }
  assert.deepEqual(
    npm.map((c) => c.trim().split(' ').slice(0, 2).join(' ')),
    ['npm ci', 'npm run', 'npm prune'],
  );
  assert.ok(npm.some((c) => c.includes('npm run build')));
});

test('runtime stage: Node base, the datapaths’ tools and libraries, no npm, entrypoint `sluice agent`', () => {
  assert.match(froms[runtimeStage]?.args ?? '', /^node:20\.\S+-bookworm-slim$/);
  const runs = of('RUN', runtimeStage).map((i) => i.args);
  assert.match(runs.join('\n'), /--no-install-recommends libbpf1 bpftool iptables ipset iproute2/);
  assert.ok(!runs.some((r) => /\bnpm\b/.test(r)));
  assert.deepEqual([of('ENTRYPOINT')[0]?.args, of('CMD')[0]?.args], ['["sluice"]', '["agent"]']);
  assert.ok(runs.includes('ln -s /opt/sluice/bin/sluice.js /usr/local/bin/sluice'));
  assert.ok(statSync(path.join(root, 'bin/sluice.js')).mode & 0o111, 'bin/sluice.js must be executable');
  assert.match(loadText('bin/sluice.js'), /^#!\/usr\/bin\/env node\n/);
});

test('every path copied from the build context exists and is not excluded by .dockerignore', () => {
  const allowed = loadText('.dockerignore')
    .split('\n')
    .filter((l) => l.startsWith('!'))
    .map((l) => l.slice(1));
  for (const { args } of of('COPY', buildStage)) {
    for (const src of copyParts(args).sources) {
      assert.ok(existsSync(path.join(root, src)), `${src} missing`);
      assert.ok(allowed.includes(src), `${src} is not sent by .dockerignore`);
    }
  }
});

test('every path copied from the build stage exists after `npm run build` (the runtime image layout)', () => {
  const workdir = (stage: number): string => of('WORKDIR', stage)[0]?.args ?? '/';
  const image = new Map<string, string>();
  for (const { args } of of('COPY', runtimeStage)) {
    const { from, sources, dest } = copyParts(args);
    assert.equal(from, 'build');
    for (const src of sources) {
      const inRepo = path.relative(workdir(buildStage), src);
      assert.ok(existsSync(path.join(root, inRepo)), `${inRepo} missing: run npm run build first`);
      const target = dest.endsWith('/') && !src.endsWith('/') ? path.join(dest, path.basename(src)) : dest;
      image.set(path.join(workdir(runtimeStage), target).replace(/\/$/, ''), inRepo);
    }
  }
  const want = ['package.json', 'node_modules', 'bin', 'dist', 'build/bpf/sluice.bpf.o', 'build/bpf/sluice-kct.bpf.o'];
  assert.deepEqual([...image.keys()].sort(), want.map((p) => path.join(workdir(runtimeStage), p)).sort());
  // Where the code looks for the objects: dist/agent/lifecycle.js's default --bpf-object of each --conntrack.
  const block = /DEFAULT_BPF_OBJECTS = \{([^}]+)\}/.exec(loadText('src/agent/lifecycle.ts'))?.[1] ?? '';
  const literals = [...block.matchAll(/new URL\('([^']+)'/g)].map((m) => m[1] ?? '?');
  assert.equal(literals.length, 2, 'one default object per --conntrack choice');
  for (const literal of literals) {
    const resolved = path.join(workdir(runtimeStage), 'dist/agent', literal);
    assert.ok(image.has(resolved), `the agent looks for ${resolved}`);
  }
  assert.ok(existsSync(path.join(root, 'dist/cli/main.js')));
  assert.ok(existsSync(path.join(root, 'build/bpf/sluice.bpf.o')));
});
