package outputs

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/alert"
)

// rfc5424 matches "<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG".
var rfc5424 = regexp.MustCompile(`^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) - (.*)$`)

func TestAppendSyslog(t *testing.T) {
	a := testAlert()
	b, err := AppendSyslog(nil, a, 16, "fallback", "vigil", "42", alert.FormatText)
	require.NoError(t, err)
	// local0 (16) * 8 + warning (4) = 132.
	require.Equal(t, "<132>1 2026-11-23T10:00:00.123456Z node-1 vigil 42 syscall - "+a.Text(), string(b))

	a.Hostname, a.Source, a.Priority = "", "", "Emergency"
	b, err = AppendSyslog(nil, a, 1, "my host", "vigil", "42", alert.FormatJSON)
	require.NoError(t, err)
	want, err := a.AppendJSON([]byte("<8>1 2026-11-23T10:00:00.123456Z my_host vigil 42 - - "))
	require.NoError(t, err)
	require.Equal(t, string(want), string(b))
}

// parseSyslog checks msg against RFC 5424's header and returns PRI,
// HOSTNAME, MSGID and MSG.
func parseSyslog(t *testing.T, msg string) (pri int, host, msgID, body string) {
	t.Helper()
	m := rfc5424.FindStringSubmatch(msg)
	require.NotNil(t, m, "not RFC 5424: %q", msg)
	pri, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	_, err = time.Parse(time.RFC3339Nano, m[2])
	require.NoError(t, err, "timestamp")
	require.Equal(t, "vigil", m[4])
	require.Equal(t, strconv.Itoa(os.Getpid()), m[5])
	return pri, m[3], m[6], m[7]
}

func TestSyslogUnixgram(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	rx, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	require.NoError(t, err)
	defer rx.Close()
	s, err := NewSyslog(SyslogConfig{Network: "unix", Address: sock, Facility: "daemon", Retry: fastRetry})
	require.NoError(t, err)
	defer s.Close()
	a := testAlert()
	for _, p := range []string{"Warning", "Critical"} {
		a.Priority = p
		require.NoError(t, s.Send(context.Background(), a))
	}
	buf := make([]byte, 64<<10)
	for _, wantPri := range []int{3*8 + 4, 3*8 + 2} {
		require.NoError(t, rx.SetReadDeadline(time.Now().Add(5*time.Second)))
		n, err := rx.Read(buf)
		require.NoError(t, err)
		pri, host, msgID, body := parseSyslog(t, string(buf[:n]))
		require.Equal(t, wantPri, pri)
		require.Equal(t, "node-1", host)
		require.Equal(t, "syscall", msgID)
		require.Contains(t, body, ": "+[]string{"", "", "Critical", "", "Warning"}[wantPri-24]+" A shell was spawned")
	}
}

func TestSyslogUDP(t *testing.T) {
	rx, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer rx.Close()
	s, err := NewSyslog(SyslogConfig{Network: "udp", Address: rx.LocalAddr().String(), JSON: true, Retry: fastRetry})
	require.NoError(t, err)
	defer s.Close()
	a := testAlert()
	require.NoError(t, s.Send(context.Background(), a))
	buf := make([]byte, 64<<10)
	require.NoError(t, rx.SetReadDeadline(time.Now().Add(5*time.Second)))
	n, err := rx.Read(buf)
	require.NoError(t, err)
	pri, _, _, body := parseSyslog(t, string(buf[:n]))
	require.Equal(t, 1*8+4, pri, "user facility by default")
	want, err := a.AppendJSON(nil)
	require.NoError(t, err)
	require.Equal(t, string(want), body)
}

func TestSyslogTCPReconnects(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	s, err := NewSyslog(SyslogConfig{Network: "tcp", Address: ln.Addr().String(), Retry: fastRetry})
	require.NoError(t, err)
	defer s.Close()

	// readFrame reads one octet-counted frame (RFC 6587).
	readFrame := func(r *bufio.Reader) string {
		l, err := r.ReadString(' ')
		require.NoError(t, err)
		n, err := strconv.Atoi(l[:len(l)-1])
		require.NoError(t, err)
		b := make([]byte, n)
		_, err = io.ReadFull(r, b)
		require.NoError(t, err)
		return string(b)
	}
	a := testAlert()
	require.NoError(t, s.Send(context.Background(), a))
	c, err := ln.Accept()
	require.NoError(t, err)
	r := bufio.NewReader(c)
	_, _, _, body := parseSyslog(t, readFrame(r))
	require.Equal(t, a.Text(), body)

	// The receiver restarts: the next sends reconnect.
	c.Close()
	require.Eventually(t, func() bool {
		_ = s.Send(context.Background(), a)
		return s.conn == nil || s.Retries() > 0
	}, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, s.Send(context.Background(), a))
	c2, err := ln.Accept()
	require.NoError(t, err)
	defer c2.Close()
	_, _, _, body = parseSyslog(t, readFrame(bufio.NewReader(c2)))
	require.Equal(t, a.Text(), body)
}

func TestSyslogNoDaemon(t *testing.T) {
	s, err := NewSyslog(SyslogConfig{Network: "unixgram", Address: filepath.Join(t.TempDir(), "none"), Retry: Retry{MaxAttempts: 2, InitialBackoff: time.Millisecond}})
	require.NoError(t, err)
	err = s.Send(context.Background(), testAlert())
	require.ErrorContains(t, err, "no such file or directory")
	require.ErrorContains(t, err, "gave up after 2 attempts")
}
