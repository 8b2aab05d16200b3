package outputs

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/alert"
)

// wantFacts are lines every chat message of testAlert carries.
var wantFacts = []string{
	"Terminal shell in container", "Warning", "syscall", "node-1",
	"container.name", "web", "k8s.pod.name", "web-0", "k8s.ns.name", "<NA>", "proc.tty", "34816",
	"container, shell, T1059",
}

func TestSlack(t *testing.T) {
	rc := newReceiver()
	srv := httptest.NewServer(rc.handler(http.StatusOK, "ok"))
	defer srv.Close()
	s, err := NewSlack(SlackConfig{HTTP: HTTP{URL: srv.URL + "/services/T0/B0/xyz", Retry: fastRetry}, Channel: "#sec", Username: "vigil"})
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Send(context.Background(), testAlert()))
	reqs := rc.requests()
	require.Len(t, reqs, 1)
	require.Equal(t, "/services/T0/B0/xyz", reqs[0].Path)
	require.Equal(t, "application/json", reqs[0].Header.Get("Content-Type"))

	// Exactly Slack's incoming webhook shape: no unknown keys.
	type sfield struct {
		Title string `json:"title"`
		Value string `json:"value"`
		Short bool   `json:"short"`
	}
	var m struct {
		Text        string `json:"text"`
		Channel     string `json:"channel"`
		Username    string `json:"username"`
		Attachments []struct {
			Fallback string   `json:"fallback"`
			Color    string   `json:"color"`
			Title    string   `json:"title"`
			Text     string   `json:"text"`
			Fields   []sfield `json:"fields"`
			Footer   string   `json:"footer"`
			Ts       int64    `json:"ts"`
		} `json:"attachments"`
	}
	dec := json.NewDecoder(strings.NewReader(string(reqs[0].Body)))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&m))
	require.Equal(t, "#sec", m.Channel)
	require.Equal(t, "vigil", m.Username)
	require.Equal(t, "10:00:00.123456789: Warning A shell was spawned (user=root container=web pod=web-0 cmd=bash -c &lt;x&gt; &amp; y)", m.Text)
	require.Len(t, m.Attachments, 1)
	at := m.Attachments[0]
	require.Equal(t, "#ecb22e", at.Color)
	require.Equal(t, "[Warning] Terminal shell in container", at.Title)
	require.Equal(t, ts.Unix(), at.Ts)
	got := map[string]string{}
	for _, f := range at.Fields {
		got[f.Title] = f.Value
	}
	require.Equal(t, map[string]string{
		"rule": "Terminal shell in container", "priority": "Warning", "source": "syscall", "hostname": "node-1",
		"time": "2026-11-23T10:00:00.123456789Z", "user.name": "root", "container.name": "web", "container.id": "8a1b2c3d4e5f",
		"k8s.pod.name": "web-0", "k8s.ns.name": "&lt;NA&gt;", "proc.vpid": "1", "proc.tty": "34816", "tags": "container, shell, T1059",
	}, got)
	require.Equal(t, sfield{"rule", "Terminal shell in container", true}, at.Fields[0])

	// Slack's errors are 4xx with a word; not retried.
	bad := httptest.NewServer(rc.handler(http.StatusBadRequest, "invalid_payload"))
	defer bad.Close()
	s2, err := NewSlack(SlackConfig{HTTP: HTTP{URL: bad.URL, Retry: fastRetry}})
	require.NoError(t, err)
	require.ErrorContains(t, s2.Send(context.Background(), testAlert()), "400 Bad Request: invalid_payload")
	require.Zero(t, s2.Retries())
}

// dingTalkSignature computes DingTalk's documented signature: Base64 of
// HMAC-SHA256(key=secret, message=timestamp+"\n"+secret).
func dingTalkSignature(timestamp, secret string) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(timestamp))
	h.Write([]byte("\n"))
	h.Write([]byte(secret))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func TestDingTalk(t *testing.T) {
	const secret = "SEC0123456789abcdef"
	rc := newReceiver()
	srv := httptest.NewServer(rc.handler(http.StatusOK, `{"errcode":0,"errmsg":"ok"}`))
	defer srv.Close()
	d, err := NewDingTalk(DingTalkConfig{HTTP: HTTP{URL: srv.URL + "/robot/send?access_token=tok", Retry: fastRetry}, Secret: secret, AtMobiles: []string{"13800000000"}})
	require.NoError(t, err)
	defer d.Close()
	before := time.Now().UnixMilli()
	require.NoError(t, d.Send(context.Background(), testAlert()))
	after := time.Now().UnixMilli()
	reqs := rc.requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	require.Equal(t, "/robot/send", r.Path)
	q, err := url.ParseQuery(r.Query)
	require.NoError(t, err)
	require.Equal(t, "tok", q.Get("access_token"))
	tsMs, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
	require.NoError(t, err)
	require.True(t, tsMs >= before && tsMs <= after, "timestamp %d is now in ms", tsMs)
	require.Equal(t, dingTalkSignature(q.Get("timestamp"), secret), q.Get("sign"))
	require.Contains(t, r.Query, "&sign="+url.QueryEscape(q.Get("sign")), "sign is URL-encoded")

	var m struct {
		MsgType  string `json:"msgtype"`
		Markdown struct {
			Title string `json:"title"`
			Text  string `json:"text"`
		} `json:"markdown"`
		At struct {
			AtMobiles []string `json:"atMobiles"`
			IsAtAll   bool     `json:"isAtAll"`
		} `json:"at"`
	}
	dec := json.NewDecoder(strings.NewReader(string(r.Body)))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&m))
	require.Equal(t, "markdown", m.MsgType)
	require.Equal(t, "[Warning] Terminal shell in container", m.Markdown.Title)
	for _, s := range wantFacts {
		require.Contains(t, m.Markdown.Text, s)
	}
	require.Contains(t, m.Markdown.Text, "@13800000000")
	require.Equal(t, []string{"13800000000"}, m.At.AtMobiles)
}

func TestChatErrorCodes(t *testing.T) {
	tests := []struct {
		name      string
		kind      string
		answers   []string
		wantCalls int
		wantErr   string
	}{
		{"dingtalk bad token", KindDingTalk, []string{`{"errcode":300001,"errmsg":"token is not exist"}`}, 1, "error code 300001: token is not exist"},
		{"dingtalk too fast retried", KindDingTalk, []string{`{"errcode":130101,"errmsg":"send too fast"}`, `{"errcode":0,"errmsg":"ok"}`}, 2, ""},
		{"wecom bad key", KindWeCom, []string{`{"errcode":93000,"errmsg":"invalid webhook url"}`}, 1, "error code 93000"},
		{"wecom rate limit retried", KindWeCom, []string{`{"errcode":45009,"errmsg":"api freq out of limit"}`}, 3, "gave up after 3 attempts"},
		{"feishu bad sign", KindFeishu, []string{`{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}`}, 1, "error code 19021: sign match fail"},
		{"feishu old answer ok", KindFeishu, []string{`{"StatusCode":0,"StatusMessage":"success"}`}, 1, ""},
		{"not json", KindWeCom, []string{`<html>`}, 1, "answer is not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(tt.answers[min(calls, len(tt.answers)-1)]))
				calls++
			}))
			defer srv.Close()
			h := HTTP{URL: srv.URL, Retry: fastRetry}
			o, err := Spec{Name: "x", Kind: tt.kind, DingTalk: DingTalkConfig{HTTP: h}, WeCom: WeComConfig{HTTP: h}, Feishu: FeishuConfig{HTTP: h}}.Output(nil)
			require.NoError(t, err)
			defer o.Sink.Close()
			err = o.Sink.Send(context.Background(), testAlert())
			require.Equal(t, tt.wantCalls, calls)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestWeCom(t *testing.T) {
	rc := newReceiver()
	srv := httptest.NewServer(rc.handler(http.StatusOK, `{"errcode":0,"errmsg":"ok"}`))
	defer srv.Close()
	w, err := NewWeCom(WeComConfig{HTTP: HTTP{URL: srv.URL + "/cgi-bin/webhook/send?key=k1", Retry: fastRetry}})
	require.NoError(t, err)
	defer w.Close()
	a := testAlert()
	require.NoError(t, w.Send(context.Background(), a))
	r := rc.requests()[0]
	require.Equal(t, "key=k1", r.Query)
	var m struct {
		MsgType  string `json:"msgtype"`
		Markdown struct {
			Content string `json:"content"`
		} `json:"markdown"`
	}
	dec := json.NewDecoder(strings.NewReader(string(r.Body)))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&m))
	require.Equal(t, "markdown", m.MsgType)
	require.True(t, strings.HasPrefix(m.Markdown.Content, "**[Warning] Terminal shell in container**\n\n"+a.Output+"\n"), m.Markdown.Content)
	for _, s := range wantFacts {
		require.Contains(t, m.Markdown.Content, s)
	}

	// WeCom caps Markdown at 4096 bytes: long alerts are cut on a rune.
	a.Output = strings.Repeat("界", 3000)
	require.NoError(t, w.Send(context.Background(), a))
	r = rc.requests()[1]
	require.NoError(t, json.Unmarshal(r.Body, &m))
	require.LessOrEqual(t, len(m.Markdown.Content), 4096)
	require.True(t, strings.HasSuffix(m.Markdown.Content, "界…"))
}

// feishuSignature computes Feishu's documented signature: Base64 of
// HMAC-SHA256 whose key is timestamp+"\n"+secret, over no data.
func feishuSignature(timestamp, secret string) string {
	h := hmac.New(sha256.New, []byte(timestamp+"\n"+secret))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func TestFeishu(t *testing.T) {
	const secret = "feishu-secret"
	rc := newReceiver()
	srv := httptest.NewServer(rc.handler(http.StatusOK, `{"code":0,"data":{},"msg":"success"}`))
	defer srv.Close()
	f, err := NewFeishu(FeishuConfig{HTTP: HTTP{URL: srv.URL + "/open-apis/bot/v2/hook/abc", Retry: fastRetry}, Secret: secret})
	require.NoError(t, err)
	defer f.Close()
	a := testAlert()
	a.Priority = "Critical"
	before := time.Now().Unix()
	require.NoError(t, f.Send(context.Background(), a))
	after := time.Now().Unix()
	r := rc.requests()[0]
	require.Equal(t, "/open-apis/bot/v2/hook/abc", r.Path)
	var m struct {
		Timestamp string `json:"timestamp"`
		Sign      string `json:"sign"`
		MsgType   string `json:"msg_type"`
		Card      struct {
			Header struct {
				Title struct {
					Tag     string `json:"tag"`
					Content string `json:"content"`
				} `json:"title"`
				Template string `json:"template"`
			} `json:"header"`
			Elements []struct {
				Tag     string `json:"tag"`
				Content string `json:"content"`
			} `json:"elements"`
		} `json:"card"`
	}
	dec := json.NewDecoder(strings.NewReader(string(r.Body)))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&m))
	sec, err := strconv.ParseInt(m.Timestamp, 10, 64)
	require.NoError(t, err)
	require.True(t, sec >= before && sec <= after, "timestamp %d is now in seconds", sec)
	require.Equal(t, feishuSignature(m.Timestamp, secret), m.Sign)
	require.Equal(t, "interactive", m.MsgType)
	require.Equal(t, "plain_text", m.Card.Header.Title.Tag)
	require.Equal(t, "[Critical] Terminal shell in container", m.Card.Header.Title.Content)
	require.Equal(t, "red", m.Card.Header.Template)
	require.Len(t, m.Card.Elements, 1)
	require.Equal(t, "markdown", m.Card.Elements[0].Tag)
	for _, s := range wantFacts[2:] {
		require.Contains(t, m.Card.Elements[0].Content, s)
	}

	// Without a secret the body has no timestamp or sign.
	f2, err := NewFeishu(FeishuConfig{HTTP: HTTP{URL: srv.URL, Retry: fastRetry}})
	require.NoError(t, err)
	require.NoError(t, f2.Send(context.Background(), a))
	var raw map[string]any
	require.NoError(t, json.Unmarshal(rc.requests()[1].Body, &raw))
	require.NotContains(t, raw, "sign")
	require.NotContains(t, raw, "timestamp")
}

func TestSignersMatchIndependentComputation(t *testing.T) {
	// Our exported signers against the independent computations above.
	for _, tc := range []struct{ ts, secret string }{{"1700000000000", "SECabc"}, {"0", ""}, {"1599360473", "demo"}} {
		require.Equal(t, dingTalkSignature(tc.ts, tc.secret), DingTalkSign(tc.ts, tc.secret))
		require.Equal(t, feishuSignature(tc.ts, tc.secret), FeishuSign(tc.ts, tc.secret))
	}
}

func TestPriorityColor(t *testing.T) {
	require.Equal(t, "#e01e1e", PriorityColor("Critical"))
	require.Equal(t, "#a0a0a0", PriorityColor("Bogus"))
	m := SlackMessageOf(&alert.Alert{Time: ts, Priority: "Notice"}, SlackConfig{})
	require.Equal(t, "#2eb67d", m.Attachments[0].Color)
}
