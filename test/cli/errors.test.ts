/**
 * Bad input: a message naming file, object and field; exit code 2; nothing
 * on stdout.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-errors-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const policyWith = (spec: string): string => `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: bad
  namespace: team
spec:
${spec}`;

const ingressPort = (port: string): string =>
  policyWith(`  podSelector: {}
  ingress:
    - ports:
        - ${port}`);

const ipBlock = (block: string): string =>
  policyWith(`  podSelector: {}
  egress:
    - to:
        - ipBlock: ${block}`);

interface Row {
  readonly name: string;
  readonly yaml: string | undefined;
  /** Everything the message must name, besides the file. */
  readonly want: readonly RegExp[];
}

const cases: Row[] = [
  { name: 'unreadable file', yaml: undefined, want: [/missing\.yaml/] },
  { name: 'YAML syntax error', yaml: 'kind: Pod\nmetadata: {name: [unclosed\n', want: [/line \d+/i] },
  {
    name: 'unknown kind',
    yaml: 'apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: team}\n',
    want: [/Secret/, /kind/],
  },
  {
    name: 'invalid selector operator',
    yaml: policyWith('  podSelector:\n    matchExpressions:\n      - {key: app, operator: Near, values: [a]}'),
    want: [/team\/bad/, /spec\.podSelector\.matchExpressions\[0\]\.operator/, /Near/],
  },
  {
    name: 'invalid CIDR',
    yaml: ipBlock('{cidr: 10.0.0.0/33}'),
    want: [/team\/bad/, /spec\.egress\[0\]\.to\[0\]\.ipBlock\.cidr/],
  },
  {
    name: 'except outside its cidr',
    yaml: ipBlock('{cidr: 10.0.0.0/16, except: [10.1.0.0/24]}'),
    want: [/team\/bad/, /spec\.egress\[0\]\.to\[0\]\.ipBlock\.except\[0\]/],
  },
  {
    name: 'port out of range',
    yaml: ingressPort('{port: 70000}'),
    want: [/team\/bad/, /spec\.ingress\[0\]\.ports\[0\]\.port/],
  },
  {
    name: 'endPort below port',
    yaml: ingressPort('{port: 90, endPort: 80}'),
    want: [/team\/bad/, /spec\.ingress\[0\]\.ports\[0\]\.endPort/],
  },
  {
    name: 'named port with endPort',
    yaml: ingressPort('{port: http, endPort: 90}'),
    want: [/team\/bad/, /spec\.ingress\[0\]\.ports\[0\]/],
  },
  {
    name: 'unknown field in a policy',
    yaml: policyWith('  podSelector: {}\n  ingres: []'),
    want: [/team\/bad/, /spec\.ingres/],
  },
];

cases.forEach((c, i) => {
  test(`simulate rejects ${c.name}`, async () => {
    const file = join(dir, c.yaml === undefined ? 'missing.yaml' : `case-${i}.yaml`);
    if (c.yaml !== undefined) writeFileSync(file, c.yaml);
    const r = await runCli(['simulate', '-f', file, '--port', '80']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.ok(r.stderr.includes(file), `stderr names the file: ${r.stderr}`);
    for (const re of c.want) assert.match(r.stderr, re);
  });
});

const usage = [
  { name: 'a missing --port', args: ['simulate', '-f', 'examples/tke'], want: /--port is required/ },
  {
    name: 'an unknown protocol',
    args: ['simulate', '-f', 'examples/tke', '--port', '80', '--protocol', 'ICMP'],
    want: /--protocol must be one of/,
  },
  {
    name: 'a port out of range',
    args: ['simulate', '-f', 'examples/tke', '--port', '0'],
    want: /--port must be an integer from 1 to 65535/,
  },
  { name: 'an unknown flag', args: ['simulate', '--prot', 'TCP'], want: /unknown flag --prot/ },
  { name: 'an unknown command', args: ['simulat'], want: /unknown command 'simulat'/ },
  {
    name: 'a malformed explain port',
    args: ['explain', '-f', 'examples/tke', '--from', 'a/b', '--to', 'c/d', '--port', '80/ICMP'],
    want: /--port must look like/,
  },
];

for (const c of usage) {
  test(`usage error: ${c.name} exits 2 with nothing on stdout`, async () => {
    const r = await runCli(c.args);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, c.want);
  });
}

test('every command has --help', async () => {
  for (const cmd of ['simulate', 'explain']) {
    const r = await runCli([cmd, '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, new RegExp(`^Usage: sluice ${cmd}`));
  }
});
