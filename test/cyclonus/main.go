// Command cyclonus-cases writes, as one JSON document on standard output,
// every test case of Cyclonus's generator (github.com/mattfenwick/cyclonus,
// pkg/generator, every tag) played on a simulated cluster, with Cyclonus's
// own expected reachability (pkg/matcher, through its simulated probe runner)
// after each step. sluice's tests (test/cyclonus/*.test.ts) read it and
// compare every cell against `sluice simulate` and the lab.
//
// The cluster is Cyclonus's default one (namespaces x, y, z; pods a, b, c;
// one container per port 80, 81 and protocol TCP, UDP, SCTP), with fixed pod
// addresses chosen so that the generator's ipBlock peers (z/c's /24, except
// its /28) hold some pods and not others. Cyclonus learns pod addresses and
// the namespace label kubernetes.io/metadata.name from the API server; here
// the addresses are assigned and the label is kept on every namespace after
// every action, as the API server keeps it.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
	"sort"

	"github.com/mattfenwick/cyclonus/pkg/connectivity/probe"
	"github.com/mattfenwick/cyclonus/pkg/generator"
	"github.com/mattfenwick/cyclonus/pkg/matcher"
	v1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

const nameLabel = "kubernetes.io/metadata.name"

// Addresses of the default pods: y/b, y/c and the z pods share z/c's /24;
// only the z pods are in z/c's /28 (10.244.2.16/28).
var addresses = map[string]string{
	"x/a": "10.244.1.10", "x/b": "10.244.1.11", "x/c": "10.244.1.12",
	"y/a": "10.244.1.13", "y/b": "10.244.2.5", "y/c": "10.244.2.6",
	"z/a": "10.244.2.17", "z/b": "10.244.2.18", "z/c": "10.244.2.20",
}

// Pods that steps create get 10.244.3.10, .11, … in order of creation.
const createdBase = "10.244.3."

type container struct {
	Name     string `json:"name"`
	Port     int    `json:"port"`
	PortName string `json:"portName"`
	Protocol string `json:"protocol"`
}

type pod struct {
	Namespace  string            `json:"namespace"`
	Name       string            `json:"name"`
	Labels     map[string]string `json:"labels"`
	IP         string            `json:"ip"`
	Containers []container       `json:"containers"`
}

// cell is one probe job: Cyclonus's verdict for each direction and both.
type cell struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Port     int    `json:"port"`
	PortName string `json:"portName"`
	Protocol string `json:"protocol"`
	Ingress  bool   `json:"ingress"`
	Egress   bool   `json:"egress"`
	Allowed  bool   `json:"allowed"`
}

type step struct {
	// Probe: "all available" (every container of every pod) or PORT/PROTOCOL.
	Probe      string                        `json:"probe"`
	Namespaces map[string]map[string]string  `json:"namespaces"`
	Pods       []pod                         `json:"pods"`
	Policies   []*networkingv1.NetworkPolicy `json:"policies"`
	Cells      []cell                        `json:"cells"`
	// Unresolved: jobs to a port the destination does not serve (Cyclonus's
	// "invalid named port" and "invalid port/protocol"); nothing to compare.
	Unresolved int `json:"unresolved"`
}

type testCase struct {
	Description string   `json:"description"`
	Tags        []string `json:"tags"`
	Steps       []step   `json:"steps"`
}

type document struct {
	Cyclonus string     `json:"cyclonus"`
	Cases    []testCase `json:"cases"`
}

func initialResources() *probe.Resources {
	r := &probe.Resources{Namespaces: map[string]map[string]string{}}
	protocols := []v1.Protocol{v1.ProtocolTCP, v1.ProtocolUDP, v1.ProtocolSCTP}
	for _, ns := range []string{"x", "y", "z"} {
		r.Namespaces[ns] = map[string]string{"ns": ns}
		for _, name := range []string{"a", "b", "c"} {
			p := probe.NewDefaultPod(ns, name, []int{80, 81}, protocols, false, "registry.k8s.io")
			p.IP = addresses[ns+"/"+name]
			r.Pods = append(r.Pods, p)
		}
	}
	return withNameLabels(r)
}

// withNameLabels returns r with kubernetes.io/metadata.name on every namespace.
func withNameLabels(r *probe.Resources) *probe.Resources {
	namespaces := map[string]map[string]string{}
	for ns, labels := range r.Namespaces {
		copied := map[string]string{nameLabel: ns}
		for k, v := range labels {
			copied[k] = v
		}
		namespaces[ns] = copied
	}
	return &probe.Resources{Namespaces: namespaces, Pods: r.Pods}
}

// state is what the cluster holds between steps, changed as Cyclonus's
// interpreter changes it (pkg/connectivity/testcasestate.go).
type state struct {
	resources *probe.Resources
	policies  []*networkingv1.NetworkPolicy
	created   int
}

func (s *state) apply(a *generator.Action) error {
	var err error
	r := s.resources
	switch {
	case a.CreatePolicy != nil:
		s.policies = append(s.policies, a.CreatePolicy.Policy)
	case a.UpdatePolicy != nil:
		err = s.replacePolicy(a.UpdatePolicy.Policy)
	case a.DeletePolicy != nil:
		err = s.deletePolicy(a.DeletePolicy.Namespace, a.DeletePolicy.Name)
	case a.CreateNamespace != nil:
		r, err = r.CreateNamespace(a.CreateNamespace.Namespace, a.CreateNamespace.Labels)
	case a.SetNamespaceLabels != nil:
		r, err = r.UpdateNamespaceLabels(a.SetNamespaceLabels.Namespace, a.SetNamespaceLabels.Labels)
	case a.DeleteNamespace != nil:
		r, err = r.DeleteNamespace(a.DeleteNamespace.Namespace)
	case a.CreatePod != nil:
		r, err = s.createPod(a.CreatePod)
	case a.SetPodLabels != nil:
		r, err = r.SetPodLabels(a.SetPodLabels.Namespace, a.SetPodLabels.Pod, a.SetPodLabels.Labels)
	case a.DeletePod != nil:
		r, err = r.DeletePod(a.DeletePod.Namespace, a.DeletePod.Pod)
	default:
		err = fmt.Errorf("unsupported action %+v", a)
	}
	if err != nil {
		return err
	}
	s.resources = withNameLabels(r)
	return nil
}

func (s *state) createPod(a *generator.CreatePodAction) (*probe.Resources, error) {
	r, err := s.resources.CreatePod(a.Namespace, a.Pod, a.Labels)
	if err != nil {
		return nil, err
	}
	p, err := r.GetPod(a.Namespace, a.Pod)
	if err != nil {
		return nil, err
	}
	p.IP = fmt.Sprintf("%s%d", createdBase, 10+s.created)
	s.created++
	return r, nil
}

func (s *state) replacePolicy(p *networkingv1.NetworkPolicy) error {
	for i, old := range s.policies {
		if old.Namespace == p.Namespace && old.Name == p.Name {
			s.policies[i] = p
			return nil
		}
	}
	return fmt.Errorf("update of policy %s/%s that does not exist", p.Namespace, p.Name)
}

func (s *state) deletePolicy(ns, name string) error {
	for i, old := range s.policies {
		if old.Namespace == ns && old.Name == name {
			s.policies = append(append([]*networkingv1.NetworkPolicy{}, s.policies[:i]...), s.policies[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("delete of policy %s/%s that does not exist", ns, name)
}

func probeName(c *generator.ProbeConfig) string {
	if c.AllAvailable {
		return "all available"
	}
	return fmt.Sprintf("%s/%s", c.PortProtocol.Port.String(), c.PortProtocol.Protocol)
}

func (s *state) probe(c *generator.ProbeConfig) step {
	policy := matcher.BuildNetworkPolicies(true, s.policies)
	jobs := (&probe.JobBuilder{TimeoutSeconds: 1}).GetJobsForProbeConfig(s.resources, c)
	runner := &probe.SimulatedJobRunner{Policies: policy}
	out := step{
		Probe:      probeName(c),
		Namespaces: s.resources.Namespaces,
		Policies:   append([]*networkingv1.NetworkPolicy{}, s.policies...),
		Unresolved: len(jobs.BadNamedPort) + len(jobs.BadPortProtocol),
	}
	for _, p := range s.resources.Pods {
		out.Pods = append(out.Pods, dumpPod(p))
	}
	for _, job := range jobs.Valid {
		result := runner.RunJob(job)
		out.Cells = append(out.Cells, cell{
			From:     job.FromKey,
			To:       job.ToKey,
			Port:     job.ResolvedPort,
			PortName: job.ResolvedPortName,
			Protocol: string(job.Protocol),
			Ingress:  *result.Ingress == probe.ConnectivityAllowed,
			Egress:   *result.Egress == probe.ConnectivityAllowed,
			Allowed:  result.Combined == probe.ConnectivityAllowed,
		})
	}
	return out
}

func dumpPod(p *probe.Pod) pod {
	out := pod{Namespace: p.Namespace, Name: p.Name, Labels: p.Labels, IP: p.IP}
	for _, c := range p.Containers {
		out.Containers = append(out.Containers, container{c.Name, c.Port, c.PortName, string(c.Protocol)})
	}
	return out
}

func play(tc *generator.TestCase) (testCase, error) {
	tags := tc.Tags.Keys()
	sort.Strings(tags)
	out := testCase{Description: tc.Description, Tags: tags}
	s := &state{resources: initialResources()}
	for i, st := range tc.Steps {
		for _, a := range st.Actions {
			if err := s.apply(a); err != nil {
				return out, fmt.Errorf("case %q, step %d: %w", tc.Description, i+1, err)
			}
		}
		out.Steps = append(out.Steps, s.probe(st.Probe))
	}
	return out, nil
}

func main() {
	version := "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/mattfenwick/cyclonus" {
				version = dep.Version
			}
		}
	}
	gen := generator.NewTestCaseGenerator(true, addresses["z/c"], []string{"x", "y", "z"}, nil, nil)
	doc := document{Cyclonus: version}
	for _, tc := range gen.GenerateTestCases() {
		played, err := play(tc)
		if err != nil {
			fmt.Fprintln(os.Stderr, "cyclonus-cases:", err)
			os.Exit(1)
		}
		doc.Cases = append(doc.Cases, played)
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(doc); err != nil {
		fmt.Fprintln(os.Stderr, "cyclonus-cases:", err)
		os.Exit(1)
	}
}
