/**
 * The harness node the eBPF agent tests run `sluice agent` in (root only):
 * routed topology, pods shop/web (listening on TCP 8080) and shop/client,
 * their namespace and pod manifests in a temp dir the agent reads, and a
 * pin root of its own. The namespaces, pins and files go when the test
 * ends, whatever its outcome.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createNode, type NodeNs, type PodNs } from '../support/netns.js';
import { testPinRoot } from './agent-in-netns.js';
import { namespaceYaml, podYaml } from './manifests.js';

export interface ShopNode {
  readonly node: NodeNs;
  /** The manifest directory the agent reads. */
  readonly dir: string;
  readonly pinRoot: string;
  readonly web: PodNs;
  readonly client: PodNs;
}

export async function shopNode(t: { after(fn: () => Promise<unknown>): void }, label: string): Promise<ShopNode> {
  const node = await createNode({
    topology: 'routed',
    pods: [
      { id: 'shop/web', labels: { app: 'web' } },
      { id: 'shop/client', labels: { app: 'client' } },
    ],
  });
  const dir = await mkdtemp(path.join(os.tmpdir(), `sluice-${label}-`));
  const pinRoot = testPinRoot(label);
  t.after(async () => {
    await node.destroy();
    await rm(pinRoot, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  });
  const web = node.pod('shop/web');
  const client = node.pod('shop/client');
  await writeFile(path.join(dir, 'ns.yaml'), namespaceYaml('shop', {}));
  await writeFile(path.join(dir, 'web.yaml'), podYaml(web, { app: 'web' }));
  await writeFile(path.join(dir, 'client.yaml'), podYaml(client, { app: 'client' }));
  await web.agent.listen('tcp', 8080);
  return { node, dir, pinRoot, web, client };
}
