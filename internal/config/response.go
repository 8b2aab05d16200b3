package config

import (
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/vigilsec/vigil/internal/respond"
	"github.com/vigilsec/vigil/internal/respond/policy"
)

// Response is the response section of vigil.yaml: the policies that act
// on alerts automatically. Which keys were given is told by
// Has("response.<key>").
type Response struct {
	// Policies are the response policies, in order.
	Policies []policy.Policy
	// Exclude is what no policy ever touches.
	Exclude policy.Exclude
	// QueueSize bounds the alerts waiting for their actions.
	QueueSize int
	// Workers run actions in parallel.
	Workers int
	// EvidenceDir receives the bundles of capture actions; default
	// DATA_DIR/evidence.
	EvidenceDir string
}

const (
	responseKeys = "policies, exclude, queue_size, workers, evidence_dir"
	policyKeys   = "name, rules, tags, min_priority, sources, actions, contain, dry_run, max_actions_per_minute, host"
	excludeKeys  = "namespaces, images, containers"
)

// response decodes the response section.
func (d *decoder) response(n *yaml.Node, c *Config) {
	d.mapping(n, "response", func(key string, k, v *yaml.Node) {
		what := "response." + key
		switch key {
		case "policies":
			d.policies(v, &c.Response)
		case "exclude":
			d.mapping(v, what, func(key string, k, v *yaml.Node) {
				w := what + "." + key
				switch key {
				case "namespaces":
					c.Response.Exclude.Namespaces = d.nonEmpty(v, w)
				case "images":
					c.Response.Exclude.Images = d.nonEmpty(v, w)
				case "containers":
					c.Response.Exclude.Containers = d.nonEmpty(v, w)
				default:
					d.unknown(k, what, excludeKeys)
				}
			})
		case "queue_size":
			c.Response.QueueSize = d.positive(v, what)
		case "workers":
			c.Response.Workers = d.positive(v, what)
		case "evidence_dir":
			c.Response.EvidenceDir = d.path(v, what)
		default:
			d.unknown(k, "response", responseKeys)
			return
		}
		c.set[what] = true
	})
}

// nonEmpty decodes a list of non-empty strings.
func (d *decoder) nonEmpty(n *yaml.Node, what string) []string {
	l := d.strList(n, what)
	for i, s := range l {
		if s == "" {
			e := n
			if n.Kind == yaml.SequenceNode && i < len(n.Content) {
				e = n.Content[i]
			}
			d.errorf(e, "%s[%d]: empty", what, i)
		}
	}
	return l
}

// policies decodes response.policies.
func (d *decoder) policies(n *yaml.Node, r *Response) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "response.policies: want a list of policies, got %s", kindName(n))
		return
	}
	names := map[string]bool{}
	for i, pn := range n.Content {
		pn = resolve(pn)
		what := fmt.Sprintf("response.policies[%d]", i)
		var (
			p       policy.Policy
			contain bool
			actN    *yaml.Node
			hasName bool
		)
		before := len(d.problems)
		d.mapping(pn, what, func(key string, k, v *yaml.Node) {
			w := what + "." + key
			switch key {
			case "name":
				p.Name, hasName = d.str(v, w), true
				if p.Name == "" {
					d.errorf(v, "%s: empty", w)
				} else if names[p.Name] {
					d.errorf(v, "%s: duplicate policy name %q", w, p.Name)
				}
				names[p.Name] = true
			case "rules":
				p.Rules = d.nonEmpty(v, w)
			case "tags":
				p.Tags = d.nonEmpty(v, w)
			case "sources":
				p.Sources = d.nonEmpty(v, w)
			case "min_priority":
				p.MinPriority = d.str(v, w)
				if _, ok := policy.Rank(p.MinPriority); !ok && p.MinPriority != "" {
					d.errorf(v, "%s: unknown priority %q (Emergency, Alert, Critical, Error, Warning, Notice, Informational, Debug)", w, p.MinPriority)
				}
			case "actions":
				actN = v
				p.Actions = d.steps(v, w)
			case "contain":
				contain = d.boolean(v, w)
			case "dry_run":
				p.DryRun = d.boolean(v, w)
			case "max_actions_per_minute":
				p.MaxActionsPerMinute = d.integer(v, w)
			case "host":
				p.Host = d.boolean(v, w)
			default:
				d.unknown(k, what, policyKeys)
			}
		})
		if pn.Kind != yaml.MappingNode {
			continue
		}
		if !hasName {
			d.errorf(pn, "%s: name is required", what)
		}
		p.Actions = policy.Expand(p.Actions, contain)
		if len(d.problems) > before {
			continue
		}
		if len(p.Actions) == 0 {
			d.errorf(pn, "%s (%s): no actions: give actions or contain: true", what, p.Name)
			continue
		}
		if err := p.Compile(); err != nil {
			at := pn
			if actN != nil {
				at = actN
			}
			d.errorf(at, "%s: %v", what, err)
			continue
		}
		r.Policies = append(r.Policies, p)
	}
}

// steps decodes a policy's actions: each is an action name, or a mapping
// {action: isolate, allow: [CIDR[:PORT], ...]}.
func (d *decoder) steps(n *yaml.Node, what string) []policy.Step {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s: want a list of actions (%s), got %s", what, policy.PolicyActions, kindName(n))
		return nil
	}
	var out []policy.Step
	for i, sn := range n.Content {
		sn = resolve(sn)
		w := fmt.Sprintf("%s[%d]", what, i)
		var st policy.Step
		var allowN *yaml.Node
		if sn.Kind == yaml.MappingNode {
			d.mapping(sn, w, func(key string, k, v *yaml.Node) {
				switch key {
				case "action":
					st.Action = d.str(v, w+".action")
				case "allow":
					allowN = v
					for j, s := range d.strList(v, w+".allow") {
						a, err := respond.ParseAllow(s)
						if err != nil {
							e := v
							if v.Kind == yaml.SequenceNode && j < len(v.Content) {
								e = v.Content[j]
							}
							d.errorf(e, "%s.allow[%d]: %v", w, j, err)
							continue
						}
						st.Allow = append(st.Allow, a)
					}
				default:
					d.unknown(k, w, "action, allow")
				}
			})
		} else {
			st.Action = d.str(sn, w)
		}
		if !policy.ValidPolicyAction(st.Action) {
			d.errorf(sn, "%s: unknown action %q (valid: %s)", w, st.Action, policy.PolicyActions)
			continue
		}
		if allowN != nil && st.Action != respond.ActionIsolate {
			d.errorf(allowN, "%s.allow: only for isolate", w)
			continue
		}
		out = append(out, st)
	}
	return out
}
