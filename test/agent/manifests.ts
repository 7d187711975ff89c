/** Manifest text for the agent process tests: pods of the netns harness, namespaces, one policy on app=web. */
import type { PodNs } from '../support/netns.js';

type Labels = Record<string, string>;

export function podYaml(p: PodNs, labels: Labels, nodeName = p.pod.nodeName ?? 'node-a'): string {
  const [namespace, name] = p.id.split('/');
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${namespace}, labels: ${JSON.stringify(labels)}}
spec: {nodeName: ${nodeName}}
status: {phase: Running, podIP: ${p.v4}, podIPs: [{ip: ${p.v4}}, {ip: "${p.v6}"}]}
`;
}

export const namespaceYaml = (name: string, labels: Labels): string => `apiVersion: v1
kind: Namespace
metadata: {name: ${name}, labels: ${JSON.stringify(labels)}}
`;

/**
 * shop/web-in: isolates app=web for ingress; allows TCP/8080 from pods with
 * `podLabels` and/or namespaces with `nsLabels` (neither: deny all).
 */
/** `webPolicy` with `sluice.io/enforcement: <enforcement>` in its metadata. */
export function annotatedWebPolicy(enforcement: string, podLabels?: Labels): string {
  return webPolicy(podLabels).replace(
    'metadata: {name: web-in, namespace: shop}',
    `metadata: {name: web-in, namespace: shop, annotations: {sluice.io/enforcement: ${enforcement}}}`,
  );
}

export function webPolicy(podLabels: Labels | undefined, nsLabels?: Labels): string {
  const peer: string[] = [];
  if (podLabels !== undefined) peer.push(`podSelector: {matchLabels: ${JSON.stringify(podLabels)}}`);
  if (nsLabels !== undefined) peer.push(`namespaceSelector: {matchLabels: ${JSON.stringify(nsLabels)}}`);
  const ingress = peer.length === 0 ? '[]' : `[{from: [{${peer.join(', ')}}], ports: [{port: 8080}]}]`;
  return `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-in, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: ${ingress}
`;
}
