/** Reading deploy/ for the tests: every YAML document, parsed strictly, and the objects by kind. */
import { existsSync, readFileSync } from 'node:fs';
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
