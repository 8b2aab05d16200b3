package rules

import "github.com/vigilsec/vigil/internal/event"

// Evaluator matches events against a Ruleset. It owns reusable buffers and
// is not safe for concurrent use: use one Evaluator per goroutine.
type Evaluator struct {
	rs      *Ruleset
	ctx     evalCtx
	out     []*Rule
	lastSrc string
	last    *sourceRules
}

// NewEvaluator returns an Evaluator over rs.
func (rs *Ruleset) NewEvaluator() *Evaluator {
	return &Evaluator{
		rs: rs,
		ctx: evalCtx{
			a: make([]event.Value, 0, 16), b: make([]event.Value, 0, 16), tb: make([]byte, 0, 256),
			memoGen: make([]uint32, rs.memoSlots), memo: make([]bool, rs.memoSlots),
		},
	}
}

// Match returns the enabled rules whose condition ev satisfies, in load
// order. The returned slice is reused by the next call. Match allocates
// nothing once its buffers have grown to the event's size.
func (e *Evaluator) Match(ev event.Event) []*Rule {
	e.out = e.out[:0]
	src := ev.Source()
	sr := e.last
	if sr == nil || src != e.lastSrc {
		sr = e.rs.bySource[src]
		e.last, e.lastSrc = sr, src
	}
	if sr == nil {
		return e.out
	}
	code := ev.TypeCode()
	if code < 0 || code >= len(sr.byType) {
		return e.out
	}
	e.ctx.ev = ev
	e.ctx.gen++
	if e.ctx.gen == 0 { // wrapped: forget every memo
		clear(e.ctx.memoGen)
		e.ctx.gen = 1
	}
	for _, r := range sr.byType[code] {
		if r.cond.eval(&e.ctx) {
			e.out = append(e.out, r)
		}
	}
	e.ctx.ev = nil
	return e.out
}

// Render formats r's output for ev: the text and the value of each output
// field keyed as written in the output (nil when the field has no value).
// It allocates and is meant for matched events only.
func (e *Evaluator) Render(r *Rule, ev event.Event) (string, map[string]any) {
	if r.format == nil {
		return r.Output, map[string]any{}
	}
	e.ctx.ev = ev
	defer func() { e.ctx.ev = nil }()
	return r.format.render(&e.ctx)
}
