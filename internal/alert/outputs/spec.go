package outputs

import (
	"fmt"
	"io"

	"github.com/vigilsec/vigil/internal/alert"
)

// Spec describes one configured output: its kind, the options every
// output has, and the options of its kind (only the field of Kind is
// used).
type Spec struct {
	// Name identifies the output in metrics and logs; unique.
	Name string
	// Kind is one of Kinds.
	Kind string
	// Pos is where the output is defined ("vigil.yaml:12:5"), for
	// errors; empty for outputs made from flags.
	Pos string
	// MinPriority, a Falco priority name, drops alerts less severe than
	// it before they are queued. Empty keeps all.
	MinPriority string
	// QueueSize is the output's queue length; 0 takes the fanout's
	// default.
	QueueSize int

	Stdout   StdoutConfig
	File     FileConfig
	Webhook  WebhookConfig
	Syslog   SyslogConfig
	Slack    SlackConfig
	DingTalk DingTalkConfig
	WeCom    WeComConfig
	Feishu   FeishuConfig
}

// Open builds the sink of s. stdout is where a stdout output writes.
func Open(s Spec, stdout io.Writer) (alert.Sink, error) {
	switch s.Kind {
	case KindStdout:
		return NewStdout(stdout, s.Stdout), nil
	case KindFile:
		return OpenFile(s.File)
	case KindWebhook:
		return NewWebhook(s.Webhook)
	case KindSyslog:
		return NewSyslog(s.Syslog)
	case KindSlack:
		return NewSlack(s.Slack)
	case KindDingTalk:
		return NewDingTalk(s.DingTalk)
	case KindWeCom:
		return NewWeCom(s.WeCom)
	case KindFeishu:
		return NewFeishu(s.Feishu)
	}
	return nil, fmt.Errorf("unknown output type %q", s.Kind)
}

// Output builds the alert.Output of s: its sink, name, queue size and
// priority filter. Errors name the output and its position.
func (s Spec) Output(stdout io.Writer) (alert.Output, error) {
	where := ""
	if s.Pos != "" {
		where = s.Pos + ": "
	}
	min := PriorityDebug
	if s.MinPriority != "" {
		p, err := ParsePriority(s.MinPriority)
		if err != nil {
			return alert.Output{}, fmt.Errorf("%soutput %q: min_priority: %w", where, s.Name, err)
		}
		min = p
	}
	sink, err := Open(s, stdout)
	if err != nil {
		return alert.Output{}, fmt.Errorf("%soutput %q: %w", where, s.Name, err)
	}
	return alert.Output{Name: s.Name, Sink: sink, QueueSize: s.QueueSize, Accept: AtLeast(min)}, nil
}
