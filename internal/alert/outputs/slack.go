package outputs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/vigilsec/vigil/internal/alert"
)

// SlackConfig configures a Slack output. URL is the incoming webhook URL
// (https://hooks.slack.com/services/...).
type SlackConfig struct {
	HTTP
	// Channel, Username and IconURL override the webhook's defaults when
	// set (legacy webhooks honour them).
	Channel  string
	Username string
	IconURL  string
}

// Slack posts each alert to a Slack incoming webhook as a message whose
// attachment carries the rule, priority, source, host, time, every
// output field (container, pod, user...) and the tags.
type Slack struct {
	*httpOut
	cfg SlackConfig
}

// NewSlack validates c and returns the output.
func NewSlack(c SlackConfig) (*Slack, error) {
	o, err := newHTTPOut(KindSlack, c.HTTP, http.MethodPost,
		http.Header{"Content-Type": {"application/json"}, "User-Agent": {"vigil"}})
	if err != nil {
		return nil, err
	}
	// Slack answers 200 "ok"; errors come as 4xx with a word such as
	// "invalid_payload", handled by send.
	return &Slack{httpOut: o, cfg: c}, nil
}

// SlackMessage is the body posted to Slack.
type SlackMessage struct {
	Text        string            `json:"text"`
	Channel     string            `json:"channel,omitempty"`
	Username    string            `json:"username,omitempty"`
	IconURL     string            `json:"icon_url,omitempty"`
	Attachments []SlackAttachment `json:"attachments"`
}

// SlackAttachment is the attachment of a SlackMessage.
type SlackAttachment struct {
	Fallback string       `json:"fallback"`
	Color    string       `json:"color"`
	Title    string       `json:"title"`
	Text     string       `json:"text"`
	Fields   []SlackField `json:"fields"`
	Footer   string       `json:"footer"`
	Ts       int64        `json:"ts"`
}

// SlackField is one field of a SlackAttachment.
type SlackField struct {
	Title string `json:"title"`
	Value string `json:"value"`
	Short bool   `json:"short"`
}

// slackColors are attachment colours by priority, most severe first.
var slackColors = [...]string{"#7a0000", "#b30000", "#e01e1e", "#f2711c", "#ecb22e", "#2eb67d", "#36c5f0", "#a0a0a0"}

// PriorityColor returns the attachment colour of a priority name.
func PriorityColor(priority string) string {
	if p, ok := priorityOf(priority); ok {
		return slackColors[p]
	}
	return slackColors[PriorityDebug]
}

// slackEscape escapes the three characters Slack's text format reserves.
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// SlackMessageOf builds the Slack message of a.
func SlackMessageOf(a *alert.Alert, c SlackConfig) SlackMessage {
	fs := alertFields(a)
	sf := make([]SlackField, 0, len(fs))
	for _, f := range fs {
		v := slackEscape.Replace(f.Value)
		sf = append(sf, SlackField{Title: f.Name, Value: v, Short: len(v) <= 40 && f.Name != "tags"})
	}
	text := slackEscape.Replace(a.Text())
	return SlackMessage{
		Text:     text,
		Channel:  c.Channel,
		Username: c.Username,
		IconURL:  c.IconURL,
		Attachments: []SlackAttachment{{
			Fallback: text,
			Color:    PriorityColor(a.Priority),
			Title:    slackEscape.Replace(title(a)),
			Text:     slackEscape.Replace(a.Output),
			Fields:   sf,
			Footer:   "vigil",
			Ts:       a.Time.Unix(),
		}},
	}
}

// Send posts a, retrying per the policy.
func (s *Slack) Send(ctx context.Context, a *alert.Alert) error {
	body, err := json.Marshal(SlackMessageOf(a, s.cfg))
	if err != nil {
		return fmt.Errorf("slack message for %q: %w", a.Rule, err)
	}
	return s.send(ctx, body)
}
