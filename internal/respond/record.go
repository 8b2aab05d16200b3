package respond

// Record runs fn as action on spec the way the built-in actions run: it
// is timed, logged and appended to the audit log with its result; note,
// when not empty, goes in front of the outcome's detail. It lets callers
// audit actions this package does not implement (a forensic capture
// started by a response policy) or refusals decided before an action.
func (r *Responder) Record(action, spec, note string, fn func(o *Outcome) error) (*Outcome, error) {
	return r.run(action, spec, func(o *Outcome) error {
		err := fn(o)
		if note != "" {
			if o.Detail != "" {
				o.Detail = note + "; " + o.Detail
			} else {
				o.Detail = note
			}
		}
		return err
	})
}
