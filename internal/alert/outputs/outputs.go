// Package outputs holds the alert outputs of `vigil run`, one file per
// kind: stdout, a rotating JSON-lines file, an HTTP webhook carrying
// Falco's json_output (falcosidekick accepts it), RFC 5424 syslog, Slack,
// DingTalk, WeCom and Feishu/Lark. Each is an alert.Sink; network outputs
// retry failed deliveries with exponential backoff and jitter and count
// their retries. Queueing, the minimum priority filter and the
// sent/failed/dropped counters are the alert.Fanout's, set up from an
// output's Common options.
package outputs

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vigilsec/vigil/internal/alert"
)

// Kinds of output, as written in vigil.yaml's `type`.
const (
	KindStdout   = "stdout"
	KindFile     = "file"
	KindWebhook  = "webhook"
	KindSyslog   = "syslog"
	KindSlack    = "slack"
	KindDingTalk = "dingtalk"
	KindWeCom    = "wecom"
	KindFeishu   = "feishu"
)

// Kinds lists every output kind.
var Kinds = []string{KindStdout, KindFile, KindWebhook, KindSyslog, KindSlack, KindDingTalk, KindWeCom, KindFeishu}

// priorities are Falco's priority names, most severe first; the index is
// also the syslog severity.
var priorities = [...]string{"Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"}

// Priority is a Falco priority: 0 (Emergency) is the most severe, 7
// (Debug) the least. It equals the syslog severity.
type Priority uint8

// PriorityDebug is the least severe priority; a minimum of PriorityDebug
// accepts every alert.
const PriorityDebug Priority = 7

// ParsePriority parses a Falco priority name case-insensitively; "info"
// stands for Informational.
func ParsePriority(s string) (Priority, error) {
	if p, ok := priorityOf(strings.TrimSpace(s)); ok {
		return p, nil
	}
	return 0, fmt.Errorf("unknown priority %q (expected emergency, alert, critical, error, warning, notice, informational or debug)", s)
}

// priorityOf is ParsePriority without allocation, for alerts.
func priorityOf(s string) (Priority, bool) {
	if strings.EqualFold(s, "info") {
		return 6, true
	}
	for i, n := range priorities {
		if strings.EqualFold(s, n) {
			return Priority(i), true
		}
	}
	return 0, false
}

// String returns the Falco name of p.
func (p Priority) String() string {
	if int(p) < len(priorities) {
		return priorities[p]
	}
	return fmt.Sprintf("Priority(%d)", uint8(p))
}

// AtLeast returns an alert.Output Accept function passing alerts of
// priority min or more severe. An alert whose priority is not a Falco
// name passes, so that nothing is lost silently.
func AtLeast(min Priority) func(*alert.Alert) bool {
	if min >= PriorityDebug {
		return nil
	}
	return func(a *alert.Alert) bool {
		p, ok := priorityOf(a.Priority)
		return !ok || p <= min
	}
}

// Defaults of Retry.
const (
	DefaultMaxAttempts    = 5
	DefaultInitialBackoff = 500 * time.Millisecond
	DefaultMaxBackoff     = 30 * time.Second
	DefaultTimeout        = 10 * time.Second
)

// Retry is how a network output retries a failed delivery: up to
// MaxAttempts tries in all, waiting InitialBackoff before the second,
// doubling up to MaxBackoff, each wait drawn at random between half and
// all of its value (jitter). Zero fields take their defaults; MaxAttempts
// 1 disables retrying.
type Retry struct {
	MaxAttempts    int
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
}

// withDefaults fills in zero fields.
func (r Retry) withDefaults() Retry {
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = DefaultMaxAttempts
	}
	if r.InitialBackoff <= 0 {
		r.InitialBackoff = DefaultInitialBackoff
	}
	if r.MaxBackoff <= 0 {
		r.MaxBackoff = DefaultMaxBackoff
	}
	if r.MaxBackoff < r.InitialBackoff {
		r.MaxBackoff = r.InitialBackoff
	}
	return r
}

// Validate reports negative values.
func (r Retry) Validate() error {
	switch {
	case r.MaxAttempts < 0:
		return fmt.Errorf("retry: negative max_attempts %d", r.MaxAttempts)
	case r.InitialBackoff < 0:
		return fmt.Errorf("retry: negative initial_backoff %s", r.InitialBackoff)
	case r.MaxBackoff < 0:
		return fmt.Errorf("retry: negative max_backoff %s", r.MaxBackoff)
	}
	return nil
}

// permanentError marks a failure that retrying cannot fix, such as a 400
// answer.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// permanent wraps err so that retrier.do gives up at once.
func permanent(err error) error { return &permanentError{err: err} }

// retrier runs deliveries under a Retry policy and counts the retries.
type retrier struct {
	policy  Retry
	retries atomic.Uint64
}

func newRetrier(r Retry) retrier { return retrier{policy: r.withDefaults()} }

// Retries returns how many deliveries were tried again after a failure.
func (r *retrier) Retries() uint64 { return r.retries.Load() }

// do calls fn until it succeeds, fails permanently, the attempts are used
// up or ctx ends, sleeping the backoff between attempts. The error names
// the attempt count.
func (r *retrier) do(ctx context.Context, fn func(context.Context) error) error {
	backoff := r.policy.InitialBackoff
	var err error
	for attempt := 1; ; attempt++ {
		if err = fn(ctx); err == nil {
			return nil
		}
		var pe *permanentError
		if errors.As(err, &pe) {
			return err
		}
		if attempt >= r.policy.MaxAttempts {
			if attempt > 1 {
				return fmt.Errorf("%w (gave up after %d attempts)", err, attempt)
			}
			return err
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (retry cancelled after %d attempts: %v)", err, attempt, ctx.Err())
		case <-t.C:
		}
		r.retries.Add(1)
		backoff = min(backoff*2, r.policy.MaxBackoff)
	}
}

// Retrier is implemented by the outputs that retry; the counter feeds
// vigil_output_retries_total.
type Retrier interface {
	Retries() uint64
}

// Reopener is implemented by the outputs that reopen files on SIGHUP.
type Reopener interface {
	Reopen() error
}
