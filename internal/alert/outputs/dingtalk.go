package outputs

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigilsec/vigil/internal/alert"
)

// DingTalkConfig configures a DingTalk output. URL is the robot's webhook
// (https://oapi.dingtalk.com/robot/send?access_token=...).
type DingTalkConfig struct {
	HTTP
	// Secret is the robot's signing secret ("SEC..."), when its security
	// setting is "sign" (加签).
	Secret string
	// AtMobiles are the phone numbers to @-mention; AtAll mentions
	// everyone.
	AtMobiles []string
	AtAll     bool
}

// DingTalk posts each alert to a DingTalk group robot as a Markdown
// message, signed when a secret is set.
type DingTalk struct {
	*httpOut
	cfg DingTalkConfig
	now func() time.Time
}

// dingTalkRateLimited is DingTalk's "send too fast" code, retried.
const dingTalkRateLimited = 130101

// dingTalkMaxText bounds the Markdown text (DingTalk's limit is 20,000
// bytes).
const dingTalkMaxText = 18000

// NewDingTalk validates c and returns the output.
func NewDingTalk(c DingTalkConfig) (*DingTalk, error) {
	o, err := newHTTPOut(KindDingTalk, c.HTTP, http.MethodPost,
		http.Header{"Content-Type": {"application/json; charset=utf-8"}, "User-Agent": {"vigil"}})
	if err != nil {
		return nil, err
	}
	o.check = func(b []byte) error { return checkChatAnswer(b, dingTalkRateLimited) }
	return &DingTalk{httpOut: o, cfg: c, now: time.Now}, nil
}

// DingTalkSign returns DingTalk's signature of timestamp (milliseconds
// since the epoch, as a decimal string): the Base64 of HMAC-SHA256 keyed
// by secret over "timestamp\nsecret". The caller URL-encodes it.
func DingTalkSign(timestamp, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp + "\n" + secret))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// DingTalkMessage is the body posted to DingTalk.
type DingTalkMessage struct {
	MsgType  string `json:"msgtype"`
	Markdown struct {
		Title string `json:"title"`
		Text  string `json:"text"`
	} `json:"markdown"`
	At struct {
		AtMobiles []string `json:"atMobiles,omitempty"`
		IsAtAll   bool     `json:"isAtAll"`
	} `json:"at"`
}

// Send posts a, retrying per the policy; every attempt is signed anew,
// since DingTalk rejects timestamps older than an hour.
func (d *DingTalk) Send(ctx context.Context, a *alert.Alert) error {
	var m DingTalkMessage
	m.MsgType = "markdown"
	m.Markdown.Title = title(a)
	text := markdown(a)
	for _, p := range d.cfg.AtMobiles {
		text += " @" + p // DingTalk requires the mention in the text too
	}
	m.Markdown.Text = truncate(text, dingTalkMaxText)
	m.At.AtMobiles = d.cfg.AtMobiles
	m.At.IsAtAll = d.cfg.AtAll
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("dingtalk message for %q: %w", a.Rule, err)
	}
	if d.cfg.Secret == "" {
		return d.send(ctx, body)
	}
	return d.retrier.do(ctx, func(ctx context.Context) error {
		ts := strconv.FormatInt(d.now().UnixMilli(), 10)
		sep := "?"
		if strings.Contains(d.url, "?") {
			sep = "&"
		}
		target := d.url + sep + "timestamp=" + ts + "&sign=" + url.QueryEscape(DingTalkSign(ts, d.cfg.Secret))
		return d.once(ctx, target, body)
	})
}
