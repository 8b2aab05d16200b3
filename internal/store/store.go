// Package store defines how alerts are kept after delivery: the stored alert
// model with the Kubernetes and container context pulled out of its output
// fields, the filter a console or API lists them with, and the Store
// interface the embedded SQLite store (store/sqlite) and the PostgreSQL store
// (store/postgres) implement.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigilsec/vigil/internal/alert"
)

// Errors returned by every Store implementation.
var (
	// ErrNotFound is returned when no alert (user, token, asset) has the
	// requested id.
	ErrNotFound = errors.New("not found")
	// ErrInvalid is returned for a bad status, priority or filter.
	ErrInvalid = errors.New("invalid argument")
)

// Status is where an alert is in its triage.
type Status string

// The triage states of an alert. New alerts are StatusOpen.
const (
	StatusOpen         Status = "open"
	StatusAcknowledged Status = "acknowledged"
	StatusResolved     Status = "resolved"
)

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusOpen, StatusAcknowledged, StatusResolved:
		return true
	}
	return false
}

// StoredAlert is an alert as kept by a Store.
type StoredAlert struct {
	// ID is assigned by the store on insert; it grows with insertion order.
	ID int64
	alert.Alert
	// Container is the container.id output field, or container.name when the
	// ID is absent.
	Container string
	// Image is the container.image.repository output field.
	Image string
	// Namespace is k8s.ns.name, or ka.target.namespace for audit alerts.
	Namespace string
	// Pod is k8s.pod.name, or ka.target.name when ka.target.resource is
	// "pods".
	Pod string
	// Node is k8s.node.name when present, else the alert's Hostname.
	Node string
	// Status is the triage state, StatusOpen for a new alert.
	Status Status
	// Note is the free-text note given with the last status change.
	Note string
	// Count is how many identical alerts this row stands for; 1 unless the
	// alert was aggregated.
	Count int64
}

// Context holds the fields Extract pulls out of an alert.
type Context struct {
	Container, Image, Namespace, Pod, Node string
}

// Extract returns the container and Kubernetes context of a from its output
// fields (see StoredAlert for the keys used).
func Extract(a *alert.Alert) Context {
	f := a.OutputFields
	c := Context{
		Container: firstString(f, "container.id", "container.name"),
		Image:     firstString(f, "container.image.repository"),
		Namespace: firstString(f, "k8s.ns.name", "ka.target.namespace"),
		Pod:       firstString(f, "k8s.pod.name"),
		Node:      firstString(f, "k8s.node.name"),
	}
	if c.Pod == "" && firstString(f, "ka.target.resource") == "pods" {
		c.Pod = firstString(f, "ka.target.name")
	}
	if c.Node == "" {
		c.Node = a.Hostname
	}
	return c
}

// firstString returns the first of keys whose value in f is a non-empty
// string other than Falco's "<NA>".
func firstString(f map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := f[k].(string); ok && s != "" && s != "<NA>" {
			return s
		}
	}
	return ""
}

// priorities lists Falco's priorities from most to least severe; the index
// is the rank.
var priorities = [...]string{"emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug"}

// UnknownPriorityRank is the rank of a priority Falco does not define; it
// sorts below Debug.
const UnknownPriorityRank = len(priorities)

// PriorityRank returns the severity rank of a Falco priority, 0 for
// Emergency through 7 for Debug, case-insensitively ("Info" is
// Informational). ok is false for an unknown priority, which gets
// UnknownPriorityRank.
func PriorityRank(p string) (rank int, ok bool) {
	p = strings.ToLower(p)
	if p == "info" {
		p = "informational"
	}
	for i, name := range priorities {
		if name == p {
			return i, true
		}
	}
	return UnknownPriorityRank, false
}

// Cursor marks a position in the newest-first listing: the (Time, ID) of
// the last alert of a page. The next page starts strictly after it.
type Cursor struct {
	Time time.Time
	ID   int64
}

// Filter selects alerts to list. Zero fields do not filter.
type Filter struct {
	// Since and Until bound the alert time: Since <= Time < Until.
	Since, Until time.Time
	// Rules keeps alerts of any of these rules.
	Rules []string
	// MinPriority keeps alerts at this priority or more severe, e.g.
	// "Warning" keeps Warning, Error, Critical, Alert and Emergency.
	MinPriority string
	// Container keeps alerts whose Container equals it.
	Container string
	// Namespace keeps alerts whose Namespace equals it.
	Namespace string
	// Pod keeps alerts whose Pod equals it.
	Pod string
	// Priority keeps alerts of exactly this priority.
	Priority string
	// Text keeps alerts whose Output or Rule contains it,
	// case-insensitively for ASCII.
	Text string
	// Statuses keeps alerts in any of these statuses.
	Statuses []Status
	// After continues a listing after this cursor (from Page.Next).
	After *Cursor
	// Limit is the page size; 0 means DefaultLimit, and it is capped at
	// MaxLimit.
	Limit int
}

// Page sizes.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Validate checks f and returns an error wrapping ErrInvalid naming the bad
// field.
func (f *Filter) Validate() error {
	if f.MinPriority != "" {
		if _, ok := PriorityRank(f.MinPriority); !ok {
			return fmt.Errorf("filter min_priority %q: %w", f.MinPriority, ErrInvalid)
		}
	}
	if f.Priority != "" {
		if _, ok := PriorityRank(f.Priority); !ok {
			return fmt.Errorf("filter priority %q: %w", f.Priority, ErrInvalid)
		}
	}
	for _, s := range f.Statuses {
		if !s.Valid() {
			return fmt.Errorf("filter status %q: %w", s, ErrInvalid)
		}
	}
	if f.Limit < 0 {
		return fmt.Errorf("filter limit %d: %w", f.Limit, ErrInvalid)
	}
	return nil
}

// PageLimit returns the effective page size of f.
func (f *Filter) PageLimit() int {
	switch {
	case f.Limit == 0:
		return DefaultLimit
	case f.Limit > MaxLimit:
		return MaxLimit
	}
	return f.Limit
}

// Page is one page of a listing, newest first.
type Page struct {
	Alerts []StoredAlert
	// Next is the cursor for the following page, nil on the last page.
	Next *Cursor
}

// Stats counts alerts (by their Count) over a time window.
type Stats struct {
	Total       int64
	ByPriority  map[string]int64
	ByRule      map[string]int64
	ByNamespace map[string]int64
}

// Store keeps alerts. Implementations are safe for concurrent use.
type Store interface {
	// Insert stores a batch of alerts atomically: when it returns nil all
	// are stored, otherwise none.
	Insert(ctx context.Context, alerts []*alert.Alert) error
	// List returns the alerts matching f, newest first by (Time, ID).
	List(ctx context.Context, f Filter) (Page, error)
	// Get returns one alert, or ErrNotFound.
	Get(ctx context.Context, id int64) (StoredAlert, error)
	// SetStatus changes the status and note of an alert, or returns
	// ErrNotFound.
	SetStatus(ctx context.Context, id int64, status Status, note string) error
	// Stats counts alerts with since <= Time < until; zero bounds are open.
	Stats(ctx context.Context, since, until time.Time) (Stats, error)
	// Prune deletes alerts older than olderThan (if not zero), then the
	// oldest beyond maxRows (if maxRows > 0), and returns how many it
	// deleted.
	Prune(ctx context.Context, olderThan time.Time, maxRows int) (deleted int, err error)
	// Close releases the store.
	Close() error
}
