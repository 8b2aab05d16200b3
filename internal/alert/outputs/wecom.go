package outputs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/vigilsec/vigil/internal/alert"
)

// WeComConfig configures a WeCom (WeChat Work, 企业微信) group robot
// output. URL is the robot's webhook
// (https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...).
type WeComConfig struct {
	HTTP
}

// WeCom posts each alert to a WeCom group robot as a Markdown message.
type WeCom struct {
	*httpOut
}

// weComRateLimited is WeCom's "api freq out of limit" code, retried.
const weComRateLimited = 45009

// weComMaxContent is WeCom's limit on Markdown content, in bytes.
const weComMaxContent = 4096

// NewWeCom validates c and returns the output.
func NewWeCom(c WeComConfig) (*WeCom, error) {
	o, err := newHTTPOut(KindWeCom, c.HTTP, http.MethodPost,
		http.Header{"Content-Type": {"application/json; charset=utf-8"}, "User-Agent": {"vigil"}})
	if err != nil {
		return nil, err
	}
	o.check = func(b []byte) error { return checkChatAnswer(b, weComRateLimited) }
	return &WeCom{httpOut: o}, nil
}

// WeComMessage is the body posted to WeCom.
type WeComMessage struct {
	MsgType  string `json:"msgtype"`
	Markdown struct {
		Content string `json:"content"`
	} `json:"markdown"`
}

// Send posts a, retrying per the policy.
func (w *WeCom) Send(ctx context.Context, a *alert.Alert) error {
	var m WeComMessage
	m.MsgType = "markdown"
	m.Markdown.Content = truncate(markdown(a), weComMaxContent)
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("wecom message for %q: %w", a.Rule, err)
	}
	return w.send(ctx, body)
}
