package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// ErrBadInput marks an error of an AuditIngester caused by the request
// body, such as JSON that is not an audit event; the handler answers 400
// with the error's message.
var ErrBadInput = errors.New("bad input")

// AuditIngester consumes the body of a kube-apiserver audit webhook
// request: the JSON of an audit.k8s.io EventList or Event.
type AuditIngester interface {
	// IngestAudit decodes and processes body and returns the number of
	// events accepted. An error wrapping ErrBadInput means the body is
	// malformed. body is reused once IngestAudit returns, so it must not
	// be retained (copy what must outlive the call).
	IngestAudit(ctx context.Context, body []byte) (accepted int, err error)
}

// maxPooledBuf is the largest body buffer kept for reuse; bigger ones,
// from rare large batches, are left to the garbage collector.
const maxPooledBuf = 4 << 20

// maxErrMsg bounds the length of an error message echoed to a client.
const maxErrMsg = 512

// handleAudit serves POST /k8s-audit.
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	limit := s.cfg.MaxBodyBytes
	if r.ContentLength > limit {
		// Refuse before reading: the connection is closed after the reply.
		httpError(w, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("request body of %d bytes exceeds the limit of %d bytes", r.ContentLength, limit))
		return
	}
	buf, _ := s.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer func() {
		if buf.Cap() <= maxPooledBuf {
			buf.Reset()
			s.bufs.Put(buf)
		}
	}()
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			httpError(w, http.StatusRequestEntityTooLarge,
				fmt.Sprintf("request body exceeds the limit of %d bytes", limit))
			return
		}
		httpError(w, http.StatusBadRequest, "read request body: "+err.Error())
		return
	}
	body := buf.Bytes()
	if msg := checkJSONStart(body); msg != "" {
		httpError(w, http.StatusBadRequest, msg)
		return
	}
	n, err := s.ingester.IngestAudit(r.Context(), body)
	switch {
	case errors.Is(err, ErrBadInput):
		httpError(w, http.StatusBadRequest, err.Error())
		return
	case err != nil && r.Context().Err() != nil:
		// The client is gone; nobody reads a reply.
		httpError(w, http.StatusServiceUnavailable, "request cancelled")
		return
	case err != nil:
		s.log.Error("ingest audit events", "remote", r.RemoteAddr, "bytes", len(body), "error", err)
		httpError(w, http.StatusInternalServerError, "ingest audit events: internal error")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	var out [32]byte
	b := append(out[:0], `{"accepted":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, '}')
	_, _ = w.Write(b) // a failed write means the client is gone
}

// checkJSONStart returns why body cannot be an audit Event or EventList,
// judging by its first non-space byte, or "" if it may be.
func checkJSONStart(body []byte) string {
	t := bytes.TrimLeft(body, " \t\r\n")
	if len(t) == 0 {
		return "empty request body: want audit.k8s.io Event or EventList JSON"
	}
	if t[0] != '{' && t[0] != '[' {
		return fmt.Sprintf("request body is not JSON (starts with %q): want audit.k8s.io Event or EventList JSON", t[0])
	}
	return ""
}

// httpError replies with code and msg on one line of plain text.
func httpError(w http.ResponseWriter, code int, msg string) {
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > maxErrMsg {
		msg = strings.ToValidUTF8(msg[:maxErrMsg], "") + "..."
	}
	http.Error(w, msg, code)
}
