package outputs

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/vigilsec/vigil/internal/alert"
)

// FeishuConfig configures a Feishu/Lark custom bot output. URL is the
// bot's webhook (https://open.feishu.cn/open-apis/bot/v2/hook/... or
// https://open.larksuite.com/open-apis/bot/v2/hook/...).
type FeishuConfig struct {
	HTTP
	// Secret is the bot's signing secret, when signature verification
	// (签名校验) is on.
	Secret string
}

// Feishu posts each alert to a Feishu/Lark custom bot as an interactive
// card: a header coloured by priority and the alert in Markdown. The body
// carries timestamp and sign when a secret is set.
type Feishu struct {
	*httpOut
	cfg FeishuConfig
	now func() time.Time
}

// feishuRateLimited is Feishu's "too many requests" code, retried.
const feishuRateLimited = 9499

// feishuMaxContent bounds the card's Markdown (Feishu caps a request at
// 20 KB).
const feishuMaxContent = 16000

// NewFeishu validates c and returns the output.
func NewFeishu(c FeishuConfig) (*Feishu, error) {
	o, err := newHTTPOut(KindFeishu, c.HTTP, http.MethodPost,
		http.Header{"Content-Type": {"application/json; charset=utf-8"}, "User-Agent": {"vigil"}})
	if err != nil {
		return nil, err
	}
	o.check = func(b []byte) error { return checkChatAnswer(b, feishuRateLimited) }
	return &Feishu{httpOut: o, cfg: c, now: time.Now}, nil
}

// FeishuSign returns Feishu's signature of timestamp (seconds since the
// epoch, as a decimal string): the Base64 of HMAC-SHA256 keyed by
// "timestamp\nsecret" over an empty message.
func FeishuSign(timestamp, secret string) string {
	m := hmac.New(sha256.New, []byte(timestamp+"\n"+secret))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// FeishuMessage is the body posted to Feishu.
type FeishuMessage struct {
	Timestamp string     `json:"timestamp,omitempty"`
	Sign      string     `json:"sign,omitempty"`
	MsgType   string     `json:"msg_type"`
	Card      FeishuCard `json:"card"`
}

// FeishuCard is the interactive card of a FeishuMessage.
type FeishuCard struct {
	Header struct {
		Title struct {
			Tag     string `json:"tag"`
			Content string `json:"content"`
		} `json:"title"`
		Template string `json:"template"`
	} `json:"header"`
	Elements []FeishuElement `json:"elements"`
}

// FeishuElement is a Markdown block of a FeishuCard.
type FeishuElement struct {
	Tag     string `json:"tag"`
	Content string `json:"content"`
}

// feishuTemplates are card header colours by priority, most severe first.
var feishuTemplates = [...]string{"carmine", "carmine", "red", "orange", "yellow", "green", "blue", "grey"}

// Send posts a, retrying per the policy; every attempt is signed anew.
func (f *Feishu) Send(ctx context.Context, a *alert.Alert) error {
	var m FeishuMessage
	m.MsgType = "interactive"
	m.Card.Header.Title.Tag = "plain_text"
	m.Card.Header.Title.Content = title(a)
	m.Card.Header.Template = feishuTemplates[PriorityDebug]
	if p, ok := priorityOf(a.Priority); ok {
		m.Card.Header.Template = feishuTemplates[p]
	}
	m.Card.Elements = []FeishuElement{{Tag: "markdown", Content: truncate(markdown(a), feishuMaxContent)}}
	return f.retrier.do(ctx, func(ctx context.Context) error {
		if f.cfg.Secret != "" {
			m.Timestamp = strconv.FormatInt(f.now().Unix(), 10)
			m.Sign = FeishuSign(m.Timestamp, f.cfg.Secret)
		}
		body, err := json.Marshal(m)
		if err != nil {
			return permanent(fmt.Errorf("feishu message for %q: %w", a.Rule, err))
		}
		return f.once(ctx, f.url, body)
	})
}
