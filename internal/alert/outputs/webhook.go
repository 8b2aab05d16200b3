package outputs

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/vigilsec/vigil/internal/alert"
)

// WebhookConfig configures a Webhook.
type WebhookConfig struct {
	HTTP
	// Method is the HTTP method, POST by default (PUT and PATCH also
	// allowed).
	Method string
	// Headers are added to every request; Content-Type is
	// application/json unless set here.
	Headers map[string]string
}

// Webhook sends each alert as the body of an HTTP request: exactly
// Falco's json_output object, as Falco's http_output does, so
// falcosidekick's endpoint (POST /) accepts it.
type Webhook struct {
	*httpOut
	buf []byte
}

// NewWebhook validates c and returns the output.
func NewWebhook(c WebhookConfig) (*Webhook, error) {
	m := strings.ToUpper(c.Method)
	switch m {
	case "":
		m = http.MethodPost
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return nil, fmt.Errorf("webhook output: method %q: want POST, PUT or PATCH", c.Method)
	}
	h := http.Header{"Content-Type": {"application/json"}, "User-Agent": {"vigil"}}
	for k, v := range c.Headers {
		if k == "" || strings.ContainsAny(k, " :\r\n") || strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("webhook output: invalid header %q", k)
		}
		h.Set(k, v)
	}
	o, err := newHTTPOut(KindWebhook, c.HTTP, m, h)
	if err != nil {
		return nil, err
	}
	return &Webhook{httpOut: o}, nil
}

// Send delivers a, retrying per the policy.
func (w *Webhook) Send(ctx context.Context, a *alert.Alert) error {
	var err error
	if w.buf, err = a.AppendJSON(w.buf[:0]); err != nil {
		return err
	}
	return w.send(ctx, w.buf)
}
