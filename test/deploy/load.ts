/** Reading deploy/ for the tests: every YAML document, parsed strictly, and the objects by kind. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { clusterBinaries } from '../cluster/control-plane.js';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const deployDir = path.join(root, 'deploy');

/** A Kubernetes object as far as the tests read it: loosely typed on purpose. */
export type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Every document of a YAML file; throws on any parse error or warning. */
export function loadYaml(file: string): Obj[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'), { prettyErrors: true });
  return docs.map((d, i) => {
    const problems = [...d.errors, ...d.warnings];
    if (problems.length > 0) throw new Error(`${file} document ${i}: ${problems.map((p) => p.message).join('; ')}`);
    return d.toJS() as Obj;
  });
}

export function loadText(relative: string): string {
  return readFileSync(path.join(root, relative), 'utf8');
}

/** The one object of a kind (and name) in a list; throws when there is none or several. */
export function one(objects: readonly Obj[], kind: string, name?: string): Obj {
  const found = objects.filter((o) => o['kind'] === kind && (name === undefined || o['metadata']?.name === name));
  if (found.length !== 1)
    throw new Error(`want one ${kind}${name === undefined ? '' : ` ${name}`}, got ${found.length}`);
  return found[0] as Obj;
}

/** kubectl with kustomize: on PATH, or the one test/cluster/build.sh built; undefined when neither exists. */
export function findKubectl(): string | undefined {
  const built = clusterBinaries().kubectl;
  if (existsSync(built)) return built;
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'kubectl');
    if (dir !== '' && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** `kubectl kustomize` of deploy/ with the given components, from a throwaway overlay beside it: the YAML. */
export function renderText(components: readonly string[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-kustomize-'));
  try {
    const base = path.relative(dir, deployDir);
    const lines = [`resources: [${base}]`, `components: [${components.map((c) => path.join(base, c)).join(', ')}]`];
    writeFileSync(path.join(dir, 'kustomization.yaml'), lines.join('\n') + '\n');
    const r = spawnSync(findKubectl() ?? 'kubectl', ['kustomize', dir], { encoding: 'utf8', cwd: root });
    if (r.status !== 0) throw new Error(`kubectl kustomize: ${r.stderr}`);
    return r.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** renderText, parsed. */
export function render(components: readonly string[]): Obj[] {
  return parseAllDocuments(renderText(components)).map((d) => d.toJS() as Obj);
}
