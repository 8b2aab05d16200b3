package store

import (
	"errors"
	"testing"

	"github.com/vigilsec/vigil/internal/alert"
)

func TestExtract(t *testing.T) {
	tests := []struct {
		name string
		a    alert.Alert
		want Context
	}{
		{"syscall", alert.Alert{Hostname: "node-a", OutputFields: map[string]any{
			"container.id": "abc123", "container.name": "web", "container.image.repository": "nginx",
			"k8s.ns.name": "prod", "k8s.pod.name": "web-0"}},
			Context{Container: "abc123", Image: "nginx", Namespace: "prod", Pod: "web-0", Node: "node-a"}},
		{"name only, NA id", alert.Alert{OutputFields: map[string]any{"container.id": "<NA>", "container.name": "web", "k8s.node.name": "n1"}},
			Context{Container: "web", Node: "n1"}},
		{"audit pod", alert.Alert{OutputFields: map[string]any{"ka.target.namespace": "kube-system", "ka.target.resource": "pods", "ka.target.name": "etcd"}},
			Context{Namespace: "kube-system", Pod: "etcd"}},
		{"audit secret is no pod", alert.Alert{OutputFields: map[string]any{"ka.target.namespace": "ns", "ka.target.resource": "secrets", "ka.target.name": "s"}},
			Context{Namespace: "ns"}},
		{"non-string ignored", alert.Alert{OutputFields: map[string]any{"container.id": 5}}, Context{}},
		{"nil fields", alert.Alert{}, Context{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Extract(&tt.a); got != tt.want {
				t.Errorf("Extract = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPriorityRank(t *testing.T) {
	tests := []struct {
		in   string
		rank int
		ok   bool
	}{
		{"Emergency", 0, true}, {"CRITICAL", 2, true}, {"Warning", 4, true},
		{"Info", 6, true}, {"informational", 6, true}, {"Debug", 7, true},
		{"Bogus", UnknownPriorityRank, false}, {"", UnknownPriorityRank, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, ok := PriorityRank(tt.in)
			if r != tt.rank || ok != tt.ok {
				t.Errorf("PriorityRank(%q) = %d, %v; want %d, %v", tt.in, r, ok, tt.rank, tt.ok)
			}
		})
	}
}

func TestFilterValidate(t *testing.T) {
	tests := []struct {
		name string
		f    Filter
		bad  bool
	}{
		{"zero", Filter{}, false},
		{"good", Filter{MinPriority: "warning", Statuses: []Status{StatusOpen}, Limit: 5}, false},
		{"bad priority", Filter{MinPriority: "loud"}, true},
		{"bad status", Filter{Statuses: []Status{"closed"}}, true},
		{"negative limit", Filter{Limit: -1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.f.Validate()
			if tt.bad != errors.Is(err, ErrInvalid) || (!tt.bad && err != nil) {
				t.Errorf("Validate = %v, want invalid %v", err, tt.bad)
			}
		})
	}
}
