package policy

import (
	"context"
	"fmt"
	"time"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/store"
)

// AlertStore is what StoreTimeline needs of a store.
type AlertStore interface {
	List(ctx context.Context, f store.Filter) (store.Page, error)
	AddTimeline(ctx context.Context, id int64, e store.TimelineEntry) error
}

// StoreTimeline writes timeline entries to the store. Policies act on an
// alert before the store's batched sink has inserted it, so the alert's
// id is looked up (by time, rule, host, source and output) until it shows
// up or Wait passes.
type StoreTimeline struct {
	Store AlertStore
	// Wait bounds the wait for the alert to be stored; 10 s by default.
	Wait time.Duration
}

// Add implements Timeline.
func (t *StoreTimeline) Add(ctx context.Context, a *alert.Alert, entries []store.TimelineEntry) error {
	id, err := t.ID(ctx, a)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := t.Store.AddTimeline(ctx, id, e); err != nil {
			return fmt.Errorf("alert %d timeline: %w", id, err)
		}
	}
	return nil
}

// ID returns the store id of a, waiting for it to be stored.
func (t *StoreTimeline) ID(ctx context.Context, a *alert.Alert) (int64, error) {
	wait := t.Wait
	if wait <= 0 {
		wait = 10 * time.Second
	}
	deadline := time.Now().Add(wait)
	f := store.Filter{Since: a.Time, Until: a.Time.Add(1), Rules: []string{a.Rule}, Limit: store.MaxLimit}
	tick := 20 * time.Millisecond
	for {
		page, err := t.Store.List(ctx, f)
		if err != nil {
			return 0, fmt.Errorf("find alert %q at %s: %w", a.Rule, a.Time.UTC().Format(time.RFC3339Nano), err)
		}
		var best int64
		for _, s := range page.Alerts {
			if s.Hostname == a.Hostname && s.Source == a.Source && s.Output == a.Output && (best == 0 || s.ID < best) {
				best = s.ID
			}
		}
		if best != 0 {
			return best, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("alert %q at %s not stored within %s: %w", a.Rule, a.Time.UTC().Format(time.RFC3339Nano), wait, store.ErrNotFound)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(tick):
		}
		if tick < 200*time.Millisecond {
			tick *= 2
		}
	}
}
