package outputs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vigilsec/vigil/internal/alert"
)

// SyslogConfig configures a syslog output.
type SyslogConfig struct {
	// Network is "unixgram", "unix" (a datagram socket, or a stream one
	// if the path is not a datagram socket), "udp" or "tcp". Empty means
	// the local syslog daemon: the first of /dev/log, /var/run/syslog and
	// /var/run/log that accepts a datagram connection.
	Network string
	// Address is the socket path for unix networks and host:port for udp
	// and tcp.
	Address string
	// Facility is a syslog facility name: kern, user (the default),
	// mail, daemon, auth, syslog, lpr, news, uucp, cron, authpriv, ftp
	// or local0 ... local7.
	Facility string
	// AppName is the APP-NAME of each message, "vigil" by default.
	AppName string
	// Hostname is the HOSTNAME of messages whose alert has none; default
	// this machine's name.
	Hostname string
	// JSON makes MSG Falco's json_output object; by default it is Falco's
	// text line.
	JSON bool
	// Timeout bounds connecting and one write. Default DefaultTimeout.
	Timeout time.Duration
	// Retry is the retry policy; a failed write reconnects.
	Retry Retry
}

// localSyslogPaths are tried in order when Network is empty.
var localSyslogPaths = []string{"/dev/log", "/var/run/syslog", "/var/run/log"}

var facilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
	"uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
	"local0": 16, "local1": 17, "local2": 18, "local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

// FacilityNames lists the accepted facility names, for messages.
const FacilityNames = "kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, authpriv, ftp, local0 ... local7"

// Syslog sends each alert as an RFC 5424 message: over a datagram socket
// one message per datagram, over TCP with octet-counting framing (RFC
// 6587), over a unix stream socket newline-terminated. The severity is
// the alert's priority (Falco's priorities are syslog's severities).
type Syslog struct {
	retrier
	cfg      SyslogConfig
	facility int
	hostname string
	procID   string
	conn     net.Conn
	network  string // of conn
	buf      []byte
	frame    []byte // tcp frame: length prefix and message
}

// NewSyslog validates c and returns the output. It connects lazily, on
// the first alert, so that a syslog daemon started later is found.
func NewSyslog(c SyslogConfig) (*Syslog, error) {
	switch c.Network {
	case "", "unixgram", "unix":
		if c.Network != "" && c.Address == "" {
			return nil, fmt.Errorf("syslog output: network %s needs an address (socket path)", c.Network)
		}
	case "udp", "tcp":
		if _, _, err := net.SplitHostPort(c.Address); err != nil {
			return nil, fmt.Errorf("syslog output: address %q: %w", c.Address, err)
		}
	default:
		return nil, fmt.Errorf("syslog output: network %q: want unixgram, unix, udp or tcp (empty: local)", c.Network)
	}
	if c.Network == "" && c.Address != "" {
		return nil, errors.New("syslog output: address given without network")
	}
	fac := 1
	if c.Facility != "" {
		f, ok := facilities[strings.ToLower(c.Facility)]
		if !ok {
			return nil, fmt.Errorf("syslog output: unknown facility %q (want %s)", c.Facility, FacilityNames)
		}
		fac = f
	}
	if c.Timeout < 0 {
		return nil, fmt.Errorf("syslog output: negative timeout %s", c.Timeout)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if err := c.Retry.Validate(); err != nil {
		return nil, fmt.Errorf("syslog output: %w", err)
	}
	if c.AppName == "" {
		c.AppName = "vigil"
	}
	host := c.Hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	return &Syslog{
		retrier:  newRetrier(c.Retry),
		cfg:      c,
		facility: fac,
		hostname: host,
		procID:   strconv.Itoa(os.Getpid()),
	}, nil
}

// AppendSyslog appends the RFC 5424 message of a to dst: "<PRI>1
// TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG", with the alert's time
// (UTC, microseconds), its hostname (or hostname when empty), the source
// as MSGID and the alert as MSG in format f.
func AppendSyslog(dst []byte, a *alert.Alert, facility int, hostname, appName, procID string, f alert.Format) ([]byte, error) {
	sev := int(PriorityDebug)
	if p, ok := priorityOf(a.Priority); ok {
		sev = int(p)
	}
	dst = append(dst, '<')
	dst = strconv.AppendInt(dst, int64(facility*8+sev), 10)
	dst = append(dst, ">1 "...)
	dst = a.Time.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000000Z")
	dst = append(dst, ' ')
	h := a.Hostname
	if h == "" {
		h = hostname
	}
	dst = appendHeaderField(dst, h, 255)
	dst = append(dst, ' ')
	dst = appendHeaderField(dst, appName, 48)
	dst = append(dst, ' ')
	dst = appendHeaderField(dst, procID, 128)
	dst = append(dst, ' ')
	dst = appendHeaderField(dst, a.Source, 32)
	dst = append(dst, " - "...)
	if f == alert.FormatJSON {
		return a.AppendJSON(dst)
	}
	return a.AppendText(dst), nil
}

// appendHeaderField appends s as an RFC 5424 header field: printable
// US-ASCII without spaces, at most n bytes, "-" when empty. Other bytes
// become '_'.
func appendHeaderField(dst []byte, s string, n int) []byte {
	if s == "" {
		return append(dst, '-')
	}
	if len(s) > n {
		s = s[:n]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 33 || c > 126 {
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}

// dial connects to the configured or local syslog.
func (s *Syslog) dial(ctx context.Context) error {
	d := net.Dialer{Timeout: s.cfg.Timeout}
	switch s.cfg.Network {
	case "":
		var errs []error
		for _, p := range localSyslogPaths {
			c, err := d.DialContext(ctx, "unixgram", p)
			if err == nil {
				s.conn, s.network = c, "unixgram"
				return nil
			}
			errs = append(errs, err)
		}
		return fmt.Errorf("syslog: no local syslog socket: %w", errors.Join(errs...))
	case "unix":
		c, err := d.DialContext(ctx, "unixgram", s.cfg.Address)
		if err == nil {
			s.conn, s.network = c, "unixgram"
			return nil
		}
		c, err2 := d.DialContext(ctx, "unix", s.cfg.Address)
		if err2 != nil {
			return fmt.Errorf("syslog: %w", errors.Join(err, err2))
		}
		s.conn, s.network = c, "unix"
		return nil
	}
	c, err := d.DialContext(ctx, s.cfg.Network, s.cfg.Address)
	if err != nil {
		return fmt.Errorf("syslog: %w", err)
	}
	s.conn, s.network = c, s.cfg.Network
	return nil
}

// Send writes a, reconnecting and retrying per the policy.
func (s *Syslog) Send(ctx context.Context, a *alert.Alert) error {
	var err error
	f := alert.FormatText
	if s.cfg.JSON {
		f = alert.FormatJSON
	}
	if s.buf, err = AppendSyslog(s.buf[:0], a, s.facility, s.hostname, s.cfg.AppName, s.procID, f); err != nil {
		return err
	}
	msgLen := len(s.buf)
	return s.retrier.do(ctx, func(ctx context.Context) error {
		if s.conn == nil {
			if err := s.dial(ctx); err != nil {
				return err
			}
		}
		msg := s.buf[:msgLen]
		switch s.network {
		case "tcp": // octet counting: "LEN SP MSG"
			s.frame = strconv.AppendInt(s.frame[:0], int64(msgLen), 10)
			s.frame = append(s.frame, ' ')
			s.frame = append(s.frame, msg...)
			msg = s.frame
		case "unix":
			msg = append(s.buf[:msgLen], '\n')
			s.buf = msg
		}
		_ = s.conn.SetWriteDeadline(time.Now().Add(s.cfg.Timeout))
		if _, err := s.conn.Write(msg); err != nil {
			_ = s.conn.Close()
			s.conn = nil
			return fmt.Errorf("syslog %s %s: write alert %q: %w", s.network, s.cfg.Address, a.Rule, err)
		}
		return nil
	})
}

// Close closes the connection.
func (s *Syslog) Close() error {
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}
