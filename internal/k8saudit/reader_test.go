package k8saudit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// auditID returns the auditID of fixture name.
func auditID(t testing.TB, name string) string {
	t.Helper()
	var v struct{ AuditID string }
	require.NoError(t, json.Unmarshal(compactFixture(t, name), &v))
	return v.AuditID
}

// outcome is what one call to Reader.Next gives: an event's auditID, or a
// DecodeError at a line with a message containing errMsg.
type outcome struct {
	id     string
	line   int
	errMsg string
}

func ok(id string) outcome             { return outcome{id: id} }
func bad(line int, msg string) outcome { return outcome{line: line, errMsg: msg} }
func (o outcome) String() string       { return fmt.Sprintf("%+v", struct{ ID, Err string }{o.id, o.errMsg}) }
func (o outcome) isErr() bool          { return o.errMsg != "" }
func idOf(t testing.TB, ev *Event) string {
	// Clone: the value points into ev, which the next read reuses.
	return strings.Clone(extract(t, ev, "ka.auditid", "", false)[0])
}

// readAll reads r to the end and returns the outcomes of Next.
func readAll(t testing.TB, r *Reader) []outcome {
	t.Helper()
	var out []outcome
	var ev Event
	var num uint64
	for range 1_000_000 {
		err := r.Next(&ev)
		if err == io.EOF {
			require.ErrorIs(t, r.Next(&ev), io.EOF, "io.EOF again after the end")
			return out
		}
		var de *DecodeError
		if errors.As(err, &de) {
			require.True(t, strings.HasPrefix(de.Msg, "data not recognized as a k8s audit event"), de.Msg)
			require.Equal(t, fmt.Sprintf("%s:%d: %s", de.File, de.Line, de.Msg), de.Error())
			require.ErrorIs(t, err, ErrNotAuditEvent)
			out = append(out, outcome{line: de.Line, errMsg: de.Msg})
			continue
		}
		require.NoError(t, err)
		num++
		require.Equal(t, num, ev.Num(), "events are numbered from 1")
		out = append(out, ok(idOf(t, &ev)))
	}
	t.Fatal("reader does not terminate")
	return nil
}

// requireOutcomes compares outcomes, matching error messages by substring.
func requireOutcomes(t *testing.T, want, got []outcome) {
	t.Helper()
	require.Len(t, got, len(want), "got %v", got)
	for i := range want {
		if want[i].isErr() {
			require.True(t, got[i].isErr(), "outcome %d: got %v, want an error", i, got[i])
			require.Equal(t, want[i].line, got[i].line, "outcome %d: %v", i, got[i])
			require.Contains(t, got[i].errMsg, want[i].errMsg, "outcome %d", i)
		} else {
			require.Equal(t, want[i], got[i], "outcome %d", i)
		}
	}
}

func readString(t *testing.T, s string, max int) []outcome {
	t.Helper()
	r := NewReader(strings.NewReader(s), "audit.log")
	r.SetMaxLineSize(max)
	return readAll(t, r)
}

func fixtureText(t testing.TB, name string) string {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return string(data)
}

var allFixtures = []string{
	"pod_create.json", "secret_get.json", "pod_exec.json", "crb_create.json", "configmap_create.json",
	"role_create.json", "service_create.json", "v1beta1_delete.json", "openshift_login.json", "ephemeral_debug.json",
}

// listItems returns the EventList items of the fixtures: the events without
// kind and apiVersion, as the webhook backend sends them.
func listItems(t testing.TB, names ...string) []json.RawMessage {
	t.Helper()
	var items []json.RawMessage
	for _, name := range names {
		var m map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(compactFixture(t, name), &m))
		delete(m, "kind")
		delete(m, "apiVersion")
		// Keep the members' order of the fixture, as kube-apiserver writes it.
		var b bytes.Buffer
		dec := json.NewDecoder(bytes.NewReader(compactFixture(t, name)))
		_, _ = dec.Token()
		b.WriteByte('{')
		first := true
		for dec.More() {
			k, _ := dec.Token()
			var raw json.RawMessage
			require.NoError(t, dec.Decode(&raw))
			if k == "kind" || k == "apiVersion" {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			key, _ := json.Marshal(k)
			b.Write(key)
			b.WriteByte(':')
			b.Write(raw)
		}
		b.WriteByte('}')
		items = append(items, b.Bytes())
	}
	return items
}

func eventList(t testing.TB, names ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[`)
	for i, it := range listItems(t, names...) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(it)
	}
	b.WriteString("]}")
	return b.Bytes()
}

func TestReaderJSONLines(t *testing.T) {
	var b strings.Builder
	var want []outcome
	for i, name := range allFixtures {
		b.Write(compactFixture(t, name))
		if i%2 == 0 {
			b.WriteString("\r\n\n   \n") // CRLF and blank lines
		} else {
			b.WriteString("\n")
		}
		want = append(want, ok(auditID(t, name)))
	}
	requireOutcomes(t, want, readString(t, b.String(), 0))
	// Without a final newline.
	requireOutcomes(t, want, readString(t, strings.TrimRight(b.String(), "\r\n "), 0))
	// With a byte order mark.
	requireOutcomes(t, want, readString(t, "\xef\xbb\xbf"+b.String(), 0))
}

func TestReaderEventListLines(t *testing.T) {
	in := string(compactFixture(t, "eventlist.json")) + "\n" +
		string(compactFixture(t, "pod_create.json")) + "\n" +
		string(eventList(t, "role_create.json", "service_create.json")) + "\n" +
		`{"kind":"EventList","apiVersion":"audit.k8s.io/v1beta1","items":[]}` + "\n" +
		"[" + string(compactFixture(t, "v1beta1_delete.json")) + "," + string(eventList(t, "openshift_login.json")) + "]\n"
	requireOutcomes(t, []outcome{
		ok(auditID(t, "secret_get.json")), ok(auditID(t, "pod_exec.json")), ok(auditID(t, "crb_create.json")),
		ok(auditID(t, "pod_create.json")),
		ok(auditID(t, "role_create.json")), ok(auditID(t, "service_create.json")),
		ok(auditID(t, "v1beta1_delete.json")), ok(auditID(t, "openshift_login.json")),
	}, readString(t, in, 0))
}

func TestReaderDocuments(t *testing.T) {
	var pretty bytes.Buffer
	require.NoError(t, json.Indent(&pretty, eventList(t, allFixtures...), "", "  "))
	var prettyArray bytes.Buffer
	require.NoError(t, json.Indent(&prettyArray, []byte("["+string(compactFixture(t, "pod_exec.json"))+","+string(eventList(t, "role_create.json"))+"]"), "", "\t"))
	all := make([]outcome, len(allFixtures))
	for i, name := range allFixtures {
		all[i] = ok(auditID(t, name))
	}
	tests := []struct {
		name string
		in   string
		want []outcome
	}{
		{"pretty event", fixtureText(t, "pod_create.json"), []outcome{ok(auditID(t, "pod_create.json"))}},
		{"pretty events one after the other", fixtureText(t, "pod_create.json") + fixtureText(t, "secret_get.json") + "\n" + fixtureText(t, "v1beta1_delete.json"),
			[]outcome{ok(auditID(t, "pod_create.json")), ok(auditID(t, "secret_get.json")), ok(auditID(t, "v1beta1_delete.json"))}},
		{"pretty EventList", pretty.String(), all},
		{"pretty array", prettyArray.String(), []outcome{ok(auditID(t, "pod_exec.json")), ok(auditID(t, "role_create.json"))}},
		{"pretty then lines", fixtureText(t, "crb_create.json") + string(compactFixture(t, "pod_exec.json")) + "\n",
			[]outcome{ok(auditID(t, "crb_create.json")), ok(auditID(t, "pod_exec.json"))}},
		{"kind after items", "{\n  \"items\": [" + string(listItems(t, "pod_exec.json")[0]) + "],\n  \"kind\": \"EventList\"\n}\n",
			[]outcome{ok(auditID(t, "pod_exec.json"))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireOutcomes(t, tt.want, readString(t, tt.in, 0))
		})
	}
}

func TestReaderBadRecords(t *testing.T) {
	podCreate := string(compactFixture(t, "pod_create.json"))
	podExec := string(compactFixture(t, "pod_exec.json"))
	secretGet := string(compactFixture(t, "secret_get.json"))
	idCreate, idExec, idSecret := auditID(t, "pod_create.json"), auditID(t, "pod_exec.json"), auditID(t, "secret_get.json")
	list := string(compactFixture(t, "eventlist.json"))
	// The list cut inside its third item, inside a string and between tokens.
	third := strings.Index(list, `{"level":"RequestResponse","auditID":"7e6d5c4b`)
	require.Positive(t, third)
	cutInString := list[:third+40]
	cutAfterComma := list[:third+len(`{"level":"RequestResponse",`)]

	tests := []struct {
		name string
		in   string
		want []outcome
	}{
		{"garbage line", "hello world\n" + podExec + "\n",
			[]outcome{bad(1, "a record must be a JSON object or array, found 'h'"), ok(idExec)}},
		{"malformed JSON", podCreate + "\n" + `{"auditID":"x",}` + "\n" + podExec + "\n",
			[]outcome{ok(idCreate), bad(2, "invalid JSON at column 16: unexpected '}', want a member name"), ok(idExec)}},
		{"core v1 Event", `{"kind":"Event","apiVersion":"v1","metadata":{"name":"x"},"reason":"Pulled"}` + "\n" + podExec,
			[]outcome{bad(1, "apiVersion is v1, not audit.k8s.io/v1"), ok(idExec)}},
		{"other object", `{"kind":"Pod","apiVersion":"v1"}` + "\n" + podExec,
			[]outcome{bad(1, "kind is Pod, not Event"), ok(idExec)}},
		{"no auditID", `{"stage":"ResponseComplete","stageTimestamp":"2025-01-01T00:00:00Z"}` + "\n" + podExec,
			[]outcome{bad(1, "no auditID"), ok(idExec)}},
		{"no timestamp", `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"ResponseComplete"}` + "\n" + podExec,
			[]outcome{bad(1, "no valid stageTimestamp or requestReceivedTimestamp"), ok(idExec)}},
		{"without kind and apiVersion", `{"auditID":"t1","stage":"ResponseComplete","stageTimestamp":"2025-01-01T00:00:00Z"}`,
			[]outcome{ok("t1")}},
		{"EventList of another API", `{"kind":"EventList","apiVersion":"v1","items":[]}` + "\n" + podExec,
			[]outcome{bad(1, "apiVersion is \"v1\", not audit.k8s.io/v1"), ok(idExec)}},
		{"EventList without items", `{"kind":"EventList","apiVersion":"audit.k8s.io/v1"}` + "\n" + podExec,
			[]outcome{bad(1, "EventList without an items array"), ok(idExec)}},
		{"bad item", `{"kind":"EventList","items":[` + secretGet + `,{"auditID":"x"},7,` + podExec + `]}`,
			[]outcome{ok(idSecret), bad(1, "item 2 of the EventList: no stage"), bad(1, "item 3 of the EventList: not a JSON object"), ok(idExec)}},
		{"scalar in array", "[1," + podExec + "]",
			[]outcome{bad(1, "a record must be a JSON object or array (element 1 of the array)"), ok(idExec)}},
		{"two records on a line", podExec + podExec + "\n" + secretGet,
			[]outcome{bad(1, "unexpected '{' after the value"), ok(idSecret)}},
		{"truncated EventList, cut in a string, then a line", cutInString + "\n" + podCreate + "\n",
			[]outcome{ok(idSecret), ok(idExec), bad(1, "malformed record starting at line 1: line ends inside a string"), ok(idCreate)}},
		{"truncated EventList, cut between tokens, then a line", cutAfterComma + "\n" + podCreate + "\n",
			[]outcome{ok(idSecret), ok(idExec), bad(1, "EventList truncated after 2 items: line 2 starts a new record"), ok(idCreate)}},
		{"truncated EventList at the end", "\n" + cutAfterComma,
			[]outcome{ok(idSecret), ok(idExec), bad(2, "EventList truncated after 2 items: end of input")}},
		{"truncated event", podCreate[:100] + "\n" + podExec + "\n",
			[]outcome{bad(1, "line ends inside a string"), ok(idExec)}},
		{"truncated pretty event at the end", podExec + "\n" + strings.Join(strings.SplitAfter(fixtureText(t, "secret_get.json"), "\n")[:12], ""),
			[]outcome{ok(idExec), bad(2, "record truncated: end of input")}},
		{"pretty event cut in a string", podExec + "\n" + fixtureText(t, "secret_get.json")[:300],
			[]outcome{ok(idExec), bad(11, "malformed record starting at line 2: line ends inside a string")}},
		{"broken pretty document, resync at the next record",
			"{\n  \"auditID\": \"a\",\n  \"stage\": \"x\"]\n  \"verb\": \"get\"\n}\n" + podExec + "\n",
			[]outcome{bad(3, "malformed record starting at line 1: unexpected ']'"), ok(idExec)}},
		{"malformed item of a pretty EventList",
			"{\n  \"kind\": \"EventList\",\n  \"items\": [\n    " + secretGet + ",\n    {\"auditID\": \"a\",\n     \"stage\": tru},\n    " + podExec + "\n  ]\n}\n",
			[]outcome{ok(idSecret), bad(6, "item 2 of the EventList: invalid JSON at column 15: invalid literal"), ok(idExec)}},
		{"pretty EventList of another kind",
			"{\n  \"kind\": \"PodList\",\n  \"items\": [\n    " + secretGet + "\n  ]\n}\n" + podExec,
			[]outcome{bad(1, "kind is \"PodList\", not EventList"), ok(idExec)}},
		{"scalar item of a pretty EventList",
			"{\n  \"items\": [\n    \"x\",\n    " + podExec + "\n  ]\n}\n",
			[]outcome{bad(3, "item 1 of the EventList is not a JSON object"), ok(idExec)}},
		{"data after a pretty record", "{\n  \"auditID\": \"a\"\n} x\n" + podExec,
			[]outcome{bad(3, "unexpected 'x' after the record"), ok(idExec)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireOutcomes(t, tt.want, readString(t, tt.in, 0))
		})
	}
}

func TestReaderMaxLineSize(t *testing.T) {
	podExec := string(compactFixture(t, "pod_exec.json"))
	idExec := auditID(t, "pod_exec.json")
	max := len(podExec)
	big := `{"auditID":"` + strings.Repeat("x", 3*max) + `"}`
	t.Run("long line skipped", func(t *testing.T) {
		requireOutcomes(t, []outcome{ok(idExec), bad(2, fmt.Sprintf("line is longer than %d bytes", max)), ok(idExec)},
			readString(t, podExec+"\n"+big+"\n"+podExec+"\n", max))
	})
	t.Run("line of exactly the maximum", func(t *testing.T) {
		requireOutcomes(t, []outcome{ok(idExec)}, readString(t, podExec, max))
	})
	t.Run("long line inside a pretty document", func(t *testing.T) {
		in := "{\n  \"auditID\": \"a\",\n  \"x\": " + big + "\n}\n" + podExec
		requireOutcomes(t, []outcome{bad(3, "line is longer than"), ok(idExec)}, readString(t, in, max))
	})
	t.Run("pretty record larger than the maximum", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("{\n  \"auditID\": \"a\",\n  \"lines\": [\n")
		for range max / 10 {
			b.WriteString("    \"0123456789\",\n")
		}
		b.WriteString("    \"end\"\n  ]\n}\n")
		requireOutcomes(t, []outcome{bad(1, fmt.Sprintf("record larger than %d bytes", max)), ok(idExec)},
			readString(t, b.String()+podExec, max))
	})
	t.Run("pretty EventList item larger than the maximum", func(t *testing.T) {
		var pretty bytes.Buffer
		list := []byte(`{"kind":"EventList","items":[` + podExec + `,` + string(compactFixture(t, "pod_create.json")) + `,` + podExec + `]}`)
		require.NoError(t, json.Indent(&pretty, list, "", "  "))
		max := 2 * len(podExec) // pod_create is larger, pod_exec indented is not
		requireOutcomes(t, []outcome{ok(idExec), bad(47, fmt.Sprintf("item 2 of the EventList: larger than %d bytes", max)), ok(idExec)},
			readString(t, pretty.String(), max))
	})
}

// TestReaderLargeEventListStreams reads a pretty-printed EventList much
// larger than the maximum line size: items are read one at a time.
func TestReaderLargeEventListStreams(t *testing.T) {
	items := listItems(t, "pod_create.json", "crb_create.json", "pod_exec.json")
	n := 3000
	if testing.Short() {
		n = 300
	}
	var b bytes.Buffer
	b.WriteString("{\n  \"kind\": \"EventList\",\n  \"apiVersion\": \"audit.k8s.io/v1\",\n  \"metadata\": {},\n  \"items\": [\n")
	for i := range n {
		var ind bytes.Buffer
		require.NoError(t, json.Indent(&ind, items[i%len(items)], "    ", "  "))
		b.WriteString("    ")
		b.Write(ind.Bytes())
		if i < n-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("  ]\n}\n")
	r := NewReader(bytes.NewReader(b.Bytes()), "big.json")
	r.SetMaxLineSize(16 << 10) // the document is thousands of times larger
	got := readAll(t, r)
	require.Len(t, got, n)
	ids := []string{auditID(t, "pod_create.json"), auditID(t, "crb_create.json"), auditID(t, "pod_exec.json")}
	for i, o := range got {
		require.Equal(t, ok(ids[i%3]), o, "item %d", i)
	}
}

// endlessReader yields size bytes from fill, without holding them.
type endlessReader struct {
	left int64
	fill func(p []byte)
}

func (r *endlessReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	r.fill(p)
	r.left -= int64(len(p))
	return len(p), nil
}

// readBounded reads r to the end and returns the number of events and
// errors and the largest live heap seen.
func readBounded(t *testing.T, r *Reader) (events, errs int, peak uint64) {
	t.Helper()
	var ev Event
	var ms runtime.MemStats
	for i := 0; ; i++ {
		err := r.Next(&ev)
		if err == io.EOF {
			return events, errs, peak
		}
		var de *DecodeError
		switch {
		case err == nil:
			events++
		case errors.As(err, &de):
			errs++
		default:
			t.Fatal(err)
		}
		if i%4096 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
}

// TestReaderGarbageBoundedMemory reads 100 MB of garbage: random bytes, and
// one endless line. Memory must stay bounded by the maximum line size.
func TestReaderGarbageBoundedMemory(t *testing.T) {
	size := int64(100 << 20)
	if testing.Short() {
		size = 10 << 20
	}
	const max = 1 << 20
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name string
		fill func(p []byte)
	}{
		{"random bytes", func(p []byte) {
			for i := range p {
				p[i] = byte(rng.Uint32())
			}
		}},
		{"json-ish bytes", func(p []byte) {
			const alphabet = "{}[]\",:\n  abc01\\"
			for i := range p {
				p[i] = alphabet[rng.IntN(len(alphabet))]
			}
		}},
		{"one endless line", func(p []byte) {
			for i := range p {
				p[i] = 'x'
			}
			p[0] = '{'
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			r := NewReader(&endlessReader{left: size, fill: tt.fill}, "garbage")
			r.SetMaxLineSize(max)
			events, errs, peak := readBounded(t, r)
			require.Zero(t, events)
			require.Positive(t, errs)
			require.Less(t, peak, before.HeapAlloc+16*max, "heap grew to %d MB", peak>>20)
		})
	}
}

type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errors.New("disk on fire")
	}
	r.n--
	return copy(p, "{\"auditID\":\"a\",\"stage\":\"ResponseComplete\",\"stageTimestamp\":\"2025-01-01T00:00:00Z\"}\n"), nil
}

func TestReaderReadError(t *testing.T) {
	r := NewReader(&failingReader{n: 1}, "audit.log")
	var ev Event
	require.NoError(t, r.Next(&ev))
	err := r.Next(&ev)
	require.ErrorContains(t, err, "read audit.log: disk on fire")
	require.Equal(t, err, r.Next(&ev), "read errors are sticky")
}

func TestDecodeBody(t *testing.T) {
	list := compactFixture(t, "eventlist.json")
	var pretty bytes.Buffer
	require.NoError(t, json.Indent(&pretty, list, "", "  "))
	idSecret, idExec, idCRB := auditID(t, "secret_get.json"), auditID(t, "pod_exec.json"), auditID(t, "crb_create.json")
	tests := []struct {
		name    string
		body    []byte
		want    []string
		errMsgs []string
	}{
		{"EventList", list, []string{idSecret, idExec, idCRB}, nil},
		{"pretty EventList", pretty.Bytes(), []string{idSecret, idExec, idCRB}, nil},
		{"Event", compactFixture(t, "pod_exec.json"), []string{idExec}, nil},
		{"pretty Event", []byte(fixtureText(t, "role_create.json")), []string{auditID(t, "role_create.json")}, nil},
		{"array", []byte("[" + string(list) + "," + string(compactFixture(t, "pod_exec.json")) + "]"), []string{idSecret, idExec, idCRB, idExec}, nil},
		{"bad items", []byte(`{"kind":"EventList","items":[{"auditID":1},` + string(compactFixture(t, "pod_exec.json")) + `,[]]}`),
			[]string{idExec}, []string{"body:1: data not recognized as a k8s audit event: item 1 of the EventList: no stage", "item 3 of the EventList: not a JSON object"}},
		{"not JSON", []byte("\n\nPOST /audit"), nil, []string{"body:3: data not recognized as a k8s audit event: invalid JSON at column 1: unexpected 'P'"}},
		{"empty", nil, nil, []string{"no JSON value"}},
		{"not an audit event", []byte(`{"kind":"Status","apiVersion":"v1"}`), nil, []string{"body:1: data not recognized as a k8s audit event: kind is Status, not Event"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := bytes.Clone(tt.body)
			var got []string
			var num uint64
			err := DecodeBody(tt.body, func(ev *Event) error {
				num++
				require.Equal(t, num, ev.Num())
				got = append(got, idOf(t, ev))
				return nil
			})
			require.Equal(t, tt.want, got)
			require.Equal(t, orig, tt.body, "the body is not modified")
			if tt.errMsgs == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrNotAuditEvent)
			var de *DecodeError
			require.ErrorAs(t, err, &de)
			for _, m := range tt.errMsgs {
				require.ErrorContains(t, err, m)
			}
		})
	}
	t.Run("callback error stops", func(t *testing.T) {
		stop := errors.New("stop")
		calls := 0
		err := DecodeBody(list, func(*Event) error { calls++; return stop })
		require.ErrorIs(t, err, stop)
		require.Equal(t, 1, calls)
	})
}

func TestBodyDecoderReuse(t *testing.T) {
	var bd BodyDecoder
	bodies := []struct {
		body []byte
		want []string
	}{
		{compactFixture(t, "eventlist.json"), []string{auditID(t, "secret_get.json"), auditID(t, "pod_exec.json"), auditID(t, "crb_create.json")}},
		{[]byte(fixtureText(t, "pod_create.json")), []string{auditID(t, "pod_create.json")}},
		{eventList(t, "role_create.json"), []string{auditID(t, "role_create.json")}},
	}
	for range 2 {
		for _, b := range bodies {
			var got []string
			require.NoError(t, bd.Decode(b.body, func(ev *Event) error {
				got = append(got, idOf(t, ev))
				return nil
			}))
			require.Equal(t, b.want, got)
		}
	}
	require.Nil(t, bd.d.buf, "the decoder does not retain the body")
	body := compactFixture(t, "eventlist.json")
	require.Zero(t, testing.AllocsPerRun(20, func() {
		if err := bd.Decode(body, func(*Event) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}), "decoding into grown buffers must not allocate")
}

func TestReaderDoesNotAllocate(t *testing.T) {
	line := append(compactFixture(t, "pod_create.json"), '\n')
	list := append(compactFixture(t, "eventlist.json"), '\n')
	data := bytes.Repeat(append(line, list...), 200)
	r := NewReader(bytes.NewReader(data), "audit.log")
	var ev Event
	next := func() {
		if err := r.Next(&ev); err != nil {
			t.Fatal(err)
		}
	}
	for range 8 { // grow the buffers
		next()
	}
	require.Zero(t, testing.AllocsPerRun(400, next), "reading events must not allocate")
}
