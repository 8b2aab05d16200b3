package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/alert/outputs"
)

// Keys of an output entry, by kind.
var (
	commonKeys  = []string{"type", "name", "min_priority", "queue_size"}
	networkKeys = []string{"url", "timeout", "tls", "retry"}
	kindKeys    = map[string][]string{
		outputs.KindStdout:   {"format"},
		outputs.KindFile:     {"path", "format", "max_size", "max_files"},
		outputs.KindWebhook:  append([]string{"method", "headers"}, networkKeys...),
		outputs.KindSyslog:   {"network", "address", "facility", "app_name", "hostname", "format", "timeout", "retry"},
		outputs.KindSlack:    append([]string{"channel", "username", "icon_url"}, networkKeys...),
		outputs.KindDingTalk: append([]string{"secret", "at_mobiles", "at_all"}, networkKeys...),
		outputs.KindWeCom:    networkKeys,
		outputs.KindFeishu:   append([]string{"secret"}, networkKeys...),
	}
)

// outputs decodes the outputs list.
func (d *decoder) outputs(n *yaml.Node) []outputs.Spec {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return []outputs.Spec{}
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "outputs: want a list of outputs, got %s", kindName(n))
		return nil
	}
	specs := make([]outputs.Spec, 0, len(n.Content))
	names := map[string]*yaml.Node{}
	for i, e := range n.Content {
		e = resolve(e)
		s, ok := d.output(e, i)
		if !ok {
			continue
		}
		if prev, dup := names[s.Name]; dup {
			d.errorf(e, "outputs[%d]: duplicate output name %q (also at line %d); set a distinct name:", i, s.Name, prev.Line)
			continue
		}
		names[s.Name] = e
		specs = append(specs, s)
	}
	return specs
}

// output decodes one output entry.
func (d *decoder) output(n *yaml.Node, i int) (outputs.Spec, bool) {
	what := fmt.Sprintf("outputs[%d]", i)
	s := outputs.Spec{Pos: fmt.Sprintf("%s:%d:%d", d.file, n.Line, n.Column)}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: want a mapping with a type, got %s", what, kindName(n))
		return s, false
	}
	// The type decides which keys are valid: find it first.
	for j := 0; j+1 < len(n.Content); j += 2 {
		if n.Content[j].Value == "type" {
			v := resolve(n.Content[j+1])
			s.Kind = d.str(v, what+".type")
			if _, ok := kindKeys[s.Kind]; !ok && s.Kind != "" {
				d.errorf(v, "%s: unknown output type %q (valid: %s)", what, s.Kind, strings.Join(outputs.Kinds, ", "))
				return s, false
			}
		}
	}
	if s.Kind == "" {
		d.errorf(n, "%s: type is required (one of %s)", what, strings.Join(outputs.Kinds, ", "))
		return s, false
	}
	s.Name = s.Kind
	what = fmt.Sprintf("outputs[%d] (%s)", i, s.Kind)
	valid := append(slices.Clone(commonKeys), kindKeys[s.Kind]...)
	var h *outputs.HTTP
	switch s.Kind {
	case outputs.KindWebhook:
		h = &s.Webhook.HTTP
	case outputs.KindSlack:
		h = &s.Slack.HTTP
	case outputs.KindDingTalk:
		h = &s.DingTalk.HTTP
	case outputs.KindWeCom:
		h = &s.WeCom.HTTP
	case outputs.KindFeishu:
		h = &s.Feishu.HTTP
	}
	hasURL := false
	d.mapping(n, what, func(key string, k, v *yaml.Node) {
		if !slices.Contains(valid, key) {
			d.errorf(k, "unknown key %q in %s output (valid: %s)", key, s.Kind, strings.Join(valid, ", "))
			return
		}
		at := what + "." + key
		switch key {
		case "type":
		case "name":
			if s.Name = d.str(v, at); s.Name == "" {
				d.errorf(v, "%s: must not be empty", at)
			}
		case "min_priority":
			s.MinPriority = d.str(v, at)
			if _, err := outputs.ParsePriority(s.MinPriority); err != nil {
				d.errorf(v, "%s: %v", at, err)
			}
		case "queue_size":
			s.QueueSize = d.integer(v, at)
		case "format":
			f := d.format(v, at)
			s.Stdout.Format, s.File.Format, s.Syslog.JSON = f, f, f == alert.FormatJSON
		case "path":
			s.File.Path = d.str(v, at)
		case "max_size":
			s.File.MaxSize = d.size(v, at)
		case "max_files":
			s.File.MaxFiles = d.integer(v, at)
		case "url":
			hasURL = true
			h.URL = d.str(v, at)
			if u, err := url.Parse(h.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				d.errorf(v, "%s: want an http:// or https:// URL", at)
			}
		case "timeout":
			t := d.duration(v, at)
			if h != nil {
				h.Timeout = t
			} else {
				s.Syslog.Timeout = t
			}
		case "tls":
			d.tls(v, at, &h.TLS)
		case "retry":
			r := d.retry(v, at)
			if h != nil {
				h.Retry = r
			} else {
				s.Syslog.Retry = r
			}
		case "method":
			s.Webhook.Method = d.str(v, at)
			if m := strings.ToUpper(s.Webhook.Method); m != "POST" && m != "PUT" && m != "PATCH" {
				d.errorf(v, "%s: want POST, PUT or PATCH, got %q", at, s.Webhook.Method)
			}
		case "headers":
			s.Webhook.Headers = d.strMap(v, at)
		case "channel":
			s.Slack.Channel = d.str(v, at)
		case "username":
			s.Slack.Username = d.str(v, at)
		case "icon_url":
			s.Slack.IconURL = d.str(v, at)
		case "secret":
			s.DingTalk.Secret = d.str(v, at)
			s.Feishu.Secret = s.DingTalk.Secret
		case "at_mobiles":
			s.DingTalk.AtMobiles = d.strList(v, at)
		case "at_all":
			s.DingTalk.AtAll = d.boolean(v, at)
		case "network":
			s.Syslog.Network = d.str(v, at)
			if !slices.Contains([]string{"unixgram", "unix", "udp", "tcp"}, s.Syslog.Network) {
				d.errorf(v, "%s: want unixgram, unix, udp or tcp (leave out for the local syslog), got %q", at, s.Syslog.Network)
			}
		case "address":
			s.Syslog.Address = d.str(v, at)
		case "facility":
			s.Syslog.Facility = d.str(v, at)
			if _, err := outputs.NewSyslog(outputs.SyslogConfig{Facility: s.Syslog.Facility}); err != nil && s.Syslog.Facility != "" {
				d.errorf(v, "%s: unknown facility %q (valid: %s)", at, s.Syslog.Facility, outputs.FacilityNames)
			}
		case "app_name":
			s.Syslog.AppName = d.str(v, at)
		case "hostname":
			s.Syslog.Hostname = d.str(v, at)
		}
	})
	switch {
	case h != nil && !hasURL:
		d.errorf(n, "%s: url is required", what)
	case s.Kind == outputs.KindFile && s.File.Path == "":
		d.errorf(n, "%s: path is required", what)
	}
	return s, true
}

// format decodes "json" or "text".
func (d *decoder) format(n *yaml.Node, what string) alert.Format {
	s := d.str(n, what)
	f, ok := outputs.ParseFormat(s)
	if !ok && s != "" {
		d.errorf(n, "%s: want json or text, got %q", what, s)
	}
	return f
}

// tls decodes a tls section.
func (d *decoder) tls(n *yaml.Node, what string, t *outputs.TLS) {
	d.mapping(n, what, func(key string, k, v *yaml.Node) {
		at := what + "." + key
		switch key {
		case "ca_file":
			t.CAFile = d.str(v, at)
		case "cert_file":
			t.CertFile = d.str(v, at)
		case "key_file":
			t.KeyFile = d.str(v, at)
		case "insecure_skip_verify":
			t.InsecureSkipVerify = d.boolean(v, at)
		default:
			d.unknown(k, what, "ca_file, cert_file, key_file, insecure_skip_verify")
		}
	})
	if (t.CertFile == "") != (t.KeyFile == "") {
		d.errorf(n, "%s: cert_file and key_file go together", what)
	}
}

// retry decodes a retry section.
func (d *decoder) retry(n *yaml.Node, what string) outputs.Retry {
	var r outputs.Retry
	d.mapping(n, what, func(key string, k, v *yaml.Node) {
		at := what + "." + key
		switch key {
		case "max_attempts":
			before := len(d.problems)
			if r.MaxAttempts = d.integer(v, at); r.MaxAttempts == 0 && len(d.problems) == before {
				d.errorf(v, "%s: must be at least 1", at)
			}
		case "initial_backoff":
			r.InitialBackoff = d.duration(v, at)
		case "max_backoff":
			r.MaxBackoff = d.duration(v, at)
		default:
			d.unknown(k, what, "max_attempts, initial_backoff, max_backoff")
		}
	})
	return r
}
