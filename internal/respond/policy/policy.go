// Package policy runs response actions automatically when alerts match
// the response policies of vigil.yaml: capture evidence, then pause,
// isolate, stop or kill the container, kill the process or block its
// executable. Policies run off the alert path (a bounded queue and a few
// workers), honour dry-run, per-policy rate limits and an allow-list of
// namespaces, images and containers that are never touched, and record
// every action and its result in the alert's timeline and the audit log.
// The same Executor serves the actions an admin starts from the API.
package policy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/respond"
)

// Action names a policy step or an API action may use.
const (
	ActionCapture = "capture"
)

// ErrNoTarget means an alert has no container or process the action could
// act on (a Kubernetes audit alert, a host process for a container action).
var ErrNoTarget = errors.New("alert has no target for this action")

// ErrBadAction means an unknown action name.
var ErrBadAction = errors.New("unknown action")

// actions lists every action with what it needs.
var actions = map[string]struct {
	container bool // acts on the whole container
	contain   bool // a containment (capture goes before it)
	policy    bool // allowed in a policy (unpause/unisolate only from the API)
}{
	ActionCapture:             {policy: true},
	respond.ActionPause:       {container: true, contain: true, policy: true},
	respond.ActionUnpause:     {container: true},
	respond.ActionStop:        {container: true, contain: true, policy: true},
	respond.ActionKill:        {container: true, contain: true, policy: true},
	respond.ActionIsolate:     {container: true, contain: true, policy: true},
	respond.ActionUnisolate:   {container: true},
	respond.ActionKillProcess: {contain: true, policy: true},
	respond.ActionBlockExec:   {contain: true, policy: true},
	respond.ActionUnblockExec: {},
}

// PolicyActions lists the actions a policy may name, for messages.
const PolicyActions = "capture, pause, isolate, stop, kill, kill-process, block-exec"

// APIActions lists the actions the API accepts, for messages.
const APIActions = "pause, unpause, stop, kill, isolate, unisolate, kill-process, capture, block-exec"

// ValidPolicyAction reports whether a policy may name the action.
func ValidPolicyAction(name string) bool { return actions[name].policy }

// ValidAPIAction reports whether the API accepts the action.
func ValidAPIAction(name string) bool {
	_, ok := actions[name]
	return ok && name != respond.ActionUnblockExec
}

// Step is one action of a policy.
type Step struct {
	Action string
	// Allow is the allow-list of isolate (CIDR[:PORT] entries).
	Allow []respond.Allow
}

// Policy matches alerts and lists the actions to run on them. Zero match
// fields match every alert.
type Policy struct {
	Name string
	// Rules are rule names, exact or globs with * and ?.
	Rules []string
	// Tags: the alert must carry at least one of them.
	Tags []string
	// MinPriority: the alert's priority is this one or more severe.
	MinPriority string
	// Sources: the alert's source is one of them (syscall, k8s_audit, ...).
	Sources []string
	// Actions run in order; a failed step stops the ones after it.
	Actions []Step
	// DryRun logs and records what would be done, doing nothing.
	DryRun bool
	// MaxActionsPerMinute bounds the actions the policy runs (a token
	// bucket refilled at this rate per minute); 0 is unlimited.
	MaxActionsPerMinute int
	// Host lets the policy act on host processes (kill-process,
	// block-exec, capture of the process); by default alerts from host
	// processes are left alone. Host processes are never paused, stopped,
	// killed as containers or isolated.
	Host bool

	minRank int // -1: any
}

// Expand returns the steps of a policy: with contain, capture goes first
// (added when missing) and pause is the containment when none is listed.
func Expand(steps []Step, contain bool) []Step {
	if !contain {
		return steps
	}
	out := []Step{{Action: ActionCapture}}
	hasContain := false
	for _, s := range steps {
		if s.Action == ActionCapture {
			continue
		}
		hasContain = hasContain || actions[s.Action].contain
		out = append(out, s)
	}
	if !hasContain {
		out = append(out, Step{Action: respond.ActionPause})
	}
	return out
}

// Exclude is the allow-list of what policies never touch: globs matched
// against the alert's Kubernetes namespace, image (repository, or
// repository:tag as the runtime reports it) and container (id, 12-character
// id or name).
type Exclude struct {
	Namespaces []string
	Images     []string
	Containers []string
}

// excluded returns why s is excluded, "" when it is not.
func (x *Exclude) excluded(s *Subject) string {
	if s.Namespace != "" && anyGlob(x.Namespaces, s.Namespace) {
		return "namespace " + s.Namespace
	}
	if s.Image != "" && anyGlob(x.Images, s.Image) {
		return "image " + s.Image
	}
	if s.ContainerID != "" {
		id12 := s.ContainerID
		if len(id12) > 12 {
			id12 = id12[:12]
		}
		for _, c := range []string{s.ContainerID, id12, s.ContainerName} {
			if c != "" && anyGlob(x.Containers, c) {
				return "container " + c
			}
		}
	}
	return ""
}

func anyGlob(globs []string, s string) bool {
	for _, g := range globs {
		if Glob(g, s) {
			return true
		}
	}
	return false
}

// Glob reports whether s matches pattern, where * matches any run of
// characters (slashes and spaces included) and ? any one character; other
// characters match themselves, case-sensitively.
func Glob(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// priorities are Falco's priorities, most severe first.
var priorities = [...]string{"emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug"}

// Rank returns the severity rank of a Falco priority (0 Emergency ... 7
// Debug; "info" is Informational), case-insensitively, without allocating;
// ok is false for an unknown one.
func Rank(p string) (int, bool) {
	if strings.EqualFold(p, "info") {
		return 6, true
	}
	for i, n := range priorities {
		if strings.EqualFold(p, n) {
			return i, true
		}
	}
	return len(priorities), false
}

// Compile checks p and prepares it for matching.
func (p *Policy) Compile() error {
	if p.Name == "" {
		return errors.New("policy without a name")
	}
	p.minRank = -1
	if p.MinPriority != "" {
		r, ok := Rank(p.MinPriority)
		if !ok {
			return fmt.Errorf("policy %s: unknown priority %q", p.Name, p.MinPriority)
		}
		p.minRank = r
	}
	if len(p.Actions) == 0 {
		return fmt.Errorf("policy %s: no actions", p.Name)
	}
	for _, s := range p.Actions {
		if !ValidPolicyAction(s.Action) {
			return fmt.Errorf("policy %s: action %q: %w (valid: %s)", p.Name, s.Action, ErrBadAction, PolicyActions)
		}
		if len(s.Allow) > 0 && s.Action != respond.ActionIsolate {
			return fmt.Errorf("policy %s: action %s: allow is only for isolate", p.Name, s.Action)
		}
	}
	if p.MaxActionsPerMinute < 0 {
		return fmt.Errorf("policy %s: negative max_actions_per_minute", p.Name)
	}
	if p.MaxActionsPerMinute > 0 && p.MaxActionsPerMinute < len(p.Actions) {
		return fmt.Errorf("policy %s: max_actions_per_minute %d is below its %d actions: it could never run", p.Name, p.MaxActionsPerMinute, len(p.Actions))
	}
	return nil
}

// Match reports whether the alert matches p (Compile must have been
// called). It does not allocate.
func (p *Policy) Match(a *alert.Alert) bool {
	if len(p.Sources) > 0 && !contains(p.Sources, a.Source) {
		return false
	}
	if p.minRank >= 0 {
		r, _ := Rank(a.Priority)
		if r > p.minRank {
			return false
		}
	}
	if len(p.Tags) > 0 {
		found := false
		for _, t := range a.Tags {
			if contains(p.Tags, t) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if len(p.Rules) > 0 && !anyGlob(p.Rules, a.Rule) {
		return false
	}
	return true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
