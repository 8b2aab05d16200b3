package outputs

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"
)

// TLS configures the TLS client of an HTTP output. Empty fields keep Go's
// defaults (system roots, no client certificate).
type TLS struct {
	// CAFile is a PEM bundle of the CAs trusted for the server, in
	// addition to nothing else: when set, the system roots are not used.
	CAFile string
	// CertFile and KeyFile are the PEM client certificate and key, for
	// mutual TLS; both or neither.
	CertFile string
	KeyFile  string
	// InsecureSkipVerify accepts any server certificate. For tests only.
	InsecureSkipVerify bool
}

// config builds the tls.Config, or nil when t is empty.
func (t TLS) config() (*tls.Config, error) {
	if t == (TLS{}) {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // opt-in, documented
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls ca_file %s: no PEM certificate found", t.CAFile)
		}
		c.RootCAs = pool
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, errors.New("tls: cert_file and key_file go together")
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls client certificate %s: %w", t.CertFile, err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// HTTP is what every HTTP output shares.
type HTTP struct {
	// URL is where alerts are sent: http or https.
	URL string
	// Timeout bounds one attempt, connection to answer. Default
	// DefaultTimeout.
	Timeout time.Duration
	// TLS configures https.
	TLS TLS
	// Retry is the retry policy.
	Retry Retry
}

// httpOut sends request bodies with retries and checks the answers.
type httpOut struct {
	retrier
	kind   string
	client *http.Client
	url    string
	method string
	header http.Header
	// check inspects a 2xx answer's body; chat services answer 200 with
	// an error code inside.
	check func(body []byte) error
}

// newHTTPOut validates c and builds the client.
func newHTTPOut(kind string, c HTTP, method string, header http.Header) (*httpOut, error) {
	if err := checkURL(c.URL); err != nil {
		return nil, fmt.Errorf("%s output: %w", kind, err)
	}
	if c.Timeout < 0 {
		return nil, fmt.Errorf("%s output: negative timeout %s", kind, c.Timeout)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if err := c.Retry.Validate(); err != nil {
		return nil, fmt.Errorf("%s output: %w", kind, err)
	}
	tc, err := c.TLS.config()
	if err != nil {
		return nil, fmt.Errorf("%s output: %w", kind, err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	tr.MaxIdleConnsPerHost = 2
	return &httpOut{
		retrier: newRetrier(c.Retry),
		kind:    kind,
		client:  &http.Client{Transport: tr, Timeout: c.Timeout},
		url:     c.URL,
		method:  method,
		header:  header,
	}, nil
}

// checkURL accepts absolute http and https URLs.
func checkURL(s string) error {
	if s == "" {
		return errors.New("url is required")
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q: want an http:// or https:// URL", s)
	}
	return nil
}

// maxAnswer is how much of an answer is read: enough for the error
// messages of chat services.
const maxAnswer = 64 << 10

// send delivers body to the output's URL, retrying per the policy.
func (h *httpOut) send(ctx context.Context, body []byte) error {
	return h.retrier.do(ctx, func(ctx context.Context) error { return h.once(ctx, h.url, body) })
}

// once makes one attempt to deliver body to target. Answers 408, 429 and
// 5xx, and transport errors, may be retried; other non-2xx answers are
// permanent failures.
func (h *httpOut) once(ctx context.Context, target string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, h.method, target, bytes.NewReader(body))
	if err != nil {
		return permanent(fmt.Errorf("%s request: %w", h.kind, redactURL(err)))
	}
	for k, v := range h.header {
		req.Header[k] = v
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", h.kind, redactURL(err))
	}
	ans, rerr := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer)) // let the connection be reused
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		err := fmt.Errorf("%s: %s %s: %s: %s", h.kind, h.method, redact(target), resp.Status, truncate(string(bytes.TrimSpace(ans)), 500))
		if resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			return err
		}
		return permanent(err)
	}
	if rerr != nil {
		return fmt.Errorf("%s: read answer: %w", h.kind, rerr)
	}
	if h.check != nil {
		if err := h.check(ans); err != nil {
			return fmt.Errorf("%s: %w", h.kind, err)
		}
	}
	return nil
}

// redact keeps only the scheme and host of a URL: chat webhooks carry
// their secret token in the path (Slack) or the query (DingTalk, WeCom),
// and errors end up in logs.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid url)"
	}
	r := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		r += "/..."
	}
	return r
}

// redactURL redacts the URL in a *url.Error.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: redact(ue.URL), Err: ue.Err}
	}
	return err
}

// Close releases idle connections.
func (h *httpOut) Close() error {
	h.client.CloseIdleConnections()
	return nil
}
