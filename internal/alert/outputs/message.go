package outputs

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigilsec/vigil/internal/alert"
)

// This file renders alerts for the chat outputs (Slack, DingTalk, WeCom,
// Feishu): a title, Markdown lines and name/value fields.

// field is one name/value line of a chat message.
type field struct {
	Name, Value string
}

// fieldValue renders an output field value as Falco's text output does:
// <NA> for a missing value.
func fieldValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "<NA>"
	case string:
		return v
	case []string:
		return "(" + strings.Join(v, ",") + ")"
	case fmt.Stringer:
		return v.String()
	}
	if b, err := json.Marshal(v); err == nil {
		return string(b)
	}
	return fmt.Sprint(v)
}

// title is the one-line summary of a: "[Priority] Rule".
func title(a *alert.Alert) string {
	return "[" + a.Priority + "] " + a.Rule
}

// alertFields lists the facts of a chat message: rule, priority, source,
// host and time, then every output field (container, pod, user...) in
// sorted order, then the tags.
func alertFields(a *alert.Alert) []field {
	fs := []field{
		{"rule", a.Rule},
		{"priority", a.Priority},
		{"source", a.Source},
		{"hostname", a.Hostname},
		{"time", a.Time.UTC().Format(time.RFC3339Nano)},
	}
	keys := make([]string, 0, len(a.OutputFields))
	for k := range a.OutputFields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fs = append(fs, field{k, fieldValue(a.OutputFields[k])})
	}
	if len(a.Tags) > 0 {
		fs = append(fs, field{"tags", strings.Join(a.Tags, ", ")})
	}
	return fs
}

// markdown renders a as Markdown for DingTalk, WeCom and Feishu: a bold
// title, the message, then one "**name**: value" line per field.
func markdown(a *alert.Alert) string {
	var b strings.Builder
	b.WriteString("**")
	b.WriteString(title(a))
	b.WriteString("**\n\n")
	b.WriteString(a.Output)
	b.WriteString("\n")
	for _, f := range alertFields(a) {
		b.WriteString("\n- **")
		b.WriteString(f.Name)
		b.WriteString("**: ")
		b.WriteString(f.Value)
	}
	return b.String()
}

// truncate cuts s to at most n bytes on a UTF-8 boundary, marking the cut
// with "…".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// chatAnswer is the JSON answer of DingTalk and WeCom ({"errcode":0,
// "errmsg":"ok"}) and of Feishu ({"code":0,"msg":"success"}, or
// {"StatusCode":0} from older endpoints).
type chatAnswer struct {
	ErrCode    *int   `json:"errcode"`
	ErrMsg     string `json:"errmsg"`
	Code       *int   `json:"code"`
	Msg        string `json:"msg"`
	StatusCode *int   `json:"StatusCode"`
}

// checkChatAnswer fails on a non-zero error code. Codes listed in
// retryable (rate limits) may be retried; others are permanent.
func checkChatAnswer(body []byte, retryable ...int) error {
	var ans chatAnswer
	if err := json.Unmarshal(body, &ans); err != nil {
		return permanent(fmt.Errorf("answer is not JSON: %q", truncate(string(body), 200)))
	}
	code, msg := 0, ""
	switch {
	case ans.ErrCode != nil:
		code, msg = *ans.ErrCode, ans.ErrMsg
	case ans.Code != nil:
		code, msg = *ans.Code, ans.Msg
	case ans.StatusCode != nil:
		code = *ans.StatusCode
	default:
		return permanent(fmt.Errorf("answer has no error code: %q", truncate(string(body), 200)))
	}
	if code == 0 {
		return nil
	}
	err := fmt.Errorf("error code %s: %s", strconv.Itoa(code), msg)
	if slices.Contains(retryable, code) {
		return err
	}
	return permanent(err)
}
