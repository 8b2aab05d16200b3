package pipeline

import (
	"fmt"
	"hash/maphash"
	"maps"
	"time"

	"github.com/vigilsec/vigil/internal/alert"
)

// key identifies the alerts that aggregate together: the rule and up to
// five source-specific parts (container, executable, command line for
// syscall alerts; user and target for audit alerts). The strings point into
// the alert, so building a key does not allocate.
type key struct {
	rule  string
	parts [5]string
}

// field returns the string value of output field name, "" when absent or
// not a string.
func field(a *alert.Alert, name string) string {
	s, _ := a.OutputFields[name].(string)
	return s
}

// keyOf returns the aggregation key of a.
//
// Syscall alerts: rule + container id + process executable + command line,
// from the alert's provenance when it has one, else from the output fields
// container.id, proc.exepath (or proc.exe) and proc.cmdline.
//
// Audit alerts: rule + ka.user.name + the target (ka.target.resource,
// ka.target.subresource, ka.target.namespace, ka.target.name).
//
// When none of those is known (another source, or a rule whose output
// names none of the fields), the rendered output stands in for them, so
// only alerts with identical messages aggregate.
func keyOf(a *alert.Alert) key {
	k := key{rule: a.Rule}
	switch a.Source {
	case "syscall":
		if c := a.Context; c != nil && c.Provenance != nil {
			p := &c.Provenance.Process
			k.parts[0] = p.ContainerID
			if c.Container != nil && c.Container.ID != "" {
				k.parts[0] = c.Container.ID
			}
			k.parts[1], k.parts[2] = p.Exe, p.Cmdline
		} else {
			k.parts[0] = field(a, "container.id")
			k.parts[1] = field(a, "proc.exepath")
			if k.parts[1] == "" {
				k.parts[1] = field(a, "proc.exe")
			}
			k.parts[2] = field(a, "proc.cmdline")
		}
		if k.parts[1] == "" && k.parts[2] == "" {
			k.parts[3] = a.Output
		}
	case "k8s_audit":
		k.parts[0] = field(a, "ka.user.name")
		k.parts[1] = field(a, "ka.target.resource")
		k.parts[2] = field(a, "ka.target.subresource")
		k.parts[3] = field(a, "ka.target.namespace")
		k.parts[4] = field(a, "ka.target.name")
		if k.parts == [5]string{} {
			k.parts[0] = a.Output
		}
	default:
		k.parts[0] = a.Output
	}
	return k
}

// hash hashes k with h, which is reset first.
func (k *key) hash(h *maphash.Hash) uint64 {
	h.Reset()
	h.WriteString(k.rule)
	for i := range k.parts {
		h.WriteByte(0) // separator: ("ab","c") != ("a","bc")
		h.WriteString(k.parts[i])
	}
	return h.Sum64()
}

// group is an open aggregation window: the first alert was sent when it
// opened; repeats are counted until it closes.
type group struct {
	key    key
	hash   uint64
	opened time.Time
	count  int64        // repeats since the first alert
	last   *alert.Alert // the latest repeat, the model of the follow-up
	chain  *group       // next group with the same hash
	next   *group       // next group in opening order
}

// aggregator counts repeats of alerts within a window. It is used by one
// goroutine.
type aggregator struct {
	window    time.Duration
	maxGroups int

	seed   maphash.Hash
	groups map[uint64]*group
	n      int    // open groups
	head   *group // oldest open group (closes first)
	tail   *group
	free   *group // closed groups for reuse, linked by next
}

func newAggregator(window time.Duration, maxGroups int) *aggregator {
	return &aggregator{window: window, maxGroups: maxGroups, groups: make(map[uint64]*group)}
}

// verdict says what the aggregator decided for an alert.
type verdict uint8

const (
	sendNew    verdict = iota // first of its group, or not aggregated: send it
	counted                   // a repeat: counted, not sent
	sendAsOver                // no room for a new group: send it unaggregated
)

// add looks a up. A repeat of an open group is counted (without
// allocating); otherwise the caller sends a and, for sendNew, calls open
// with the key and hash returned to start a group once a was let through.
func (g *aggregator) add(a *alert.Alert) (verdict, key, uint64) {
	k := keyOf(a)
	h := k.hash(&g.seed)
	for gr := g.groups[h]; gr != nil; gr = gr.chain {
		if gr.key == k {
			gr.count++
			gr.last = a
			return counted, k, h
		}
	}
	if g.n >= g.maxGroups {
		return sendAsOver, k, h
	}
	return sendNew, k, h
}

// open starts a group for an alert sent at now.
func (g *aggregator) open(k key, h uint64, now time.Time) {
	gr := g.free
	if gr != nil {
		g.free = gr.next
		*gr = group{}
	} else {
		gr = new(group)
	}
	gr.key, gr.hash, gr.opened = k, h, now
	gr.chain = g.groups[h]
	g.groups[h] = gr
	if g.tail == nil {
		g.head = gr
	} else {
		g.tail.next = gr
	}
	g.tail = gr
	g.n++
}

// expire closes the groups opened at least window before now (all of them
// when all is true), calling emit with the follow-up of each group that
// counted repeats.
func (g *aggregator) expire(now time.Time, all bool, emit func(*alert.Alert)) {
	for g.head != nil && (all || now.Sub(g.head.opened) >= g.window) {
		gr := g.head
		g.head = gr.next
		if g.head == nil {
			g.tail = nil
		}
		g.unchain(gr)
		g.n--
		if gr.count > 0 {
			emit(followUp(gr.last, gr.count, g.window))
		}
		*gr = group{next: g.free}
		g.free = gr
	}
}

// unchain removes gr from its hash chain.
func (g *aggregator) unchain(gr *group) {
	p := g.groups[gr.hash]
	if p == gr {
		if gr.chain == nil {
			delete(g.groups, gr.hash)
		} else {
			g.groups[gr.hash] = gr.chain
		}
		return
	}
	for ; p != nil; p = p.chain {
		if p.chain == gr {
			p.chain = gr.chain
			return
		}
	}
}

// followUp returns the alert sent when a group closes: a copy of its last
// repeat whose output fields carry alert.CountField = n and whose output
// says how many repeats it stands for.
func followUp(last *alert.Alert, n int64, window time.Duration) *alert.Alert {
	a := *last
	a.OutputFields = make(map[string]any, len(last.OutputFields)+1)
	maps.Copy(a.OutputFields, last.OutputFields)
	a.OutputFields[alert.CountField] = n
	a.Output = fmt.Sprintf("%s (%s=%d: %d more within %s)", last.Output, alert.CountField, n, n, window)
	return &a
}
