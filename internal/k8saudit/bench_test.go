package k8saudit

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"sync"
	"testing"

	"github.com/vigilsec/vigil/internal/event"
)

// compactFixture returns the fixture file name as one JSON line.
func compactFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, data); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return b.Bytes()
}

// BenchmarkDecodePodCreate decodes a 4 KB pod-create audit event.
func BenchmarkDecodePodCreate(b *testing.B) {
	data := compactFixture(b, "pod_create.json")
	var ev Event
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := ev.Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

// allExtractors compiles every field of the registry, with an argument
// where one is required.
func allExtractors(tb testing.TB) []event.Extractor {
	tb.Helper()
	allOnce.Do(func() { allCompiled = compileAll(tb) })
	return allCompiled
}

var (
	allOnce     sync.Once
	allCompiled []event.Extractor
)

func compileAll(tb testing.TB) []event.Extractor {
	src := NewSource()
	var out []event.Extractor
	for _, f := range src.Fields() {
		arg, has := "", false
		if f.ArgRequired {
			arg, has = "command", true
			switch f.Name {
			case "jevt.value", "json.value":
				arg = "/requestObject/spec/containers/0/image"
			case "ka.req.volume.hostpath":
				arg = "/var/run/*"
			}
		}
		x, err := src.Extractor(f.Name, arg, has)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, x)
	}
	return out
}

// BenchmarkExtractAll extracts every field of the registry from a pod
// create event.
func BenchmarkExtractAll(b *testing.B) {
	data := compactFixture(b, "pod_create.json")
	var ev Event
	if err := ev.Decode(data); err != nil {
		b.Fatal(err)
	}
	xs := allExtractors(b)
	dst := make([]event.Value, 0, 64)
	// Warm up the per-event caches and scratch buffers.
	for _, x := range xs {
		dst = x.Extract(&ev, dst[:0])
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, x := range xs {
			dst = x.Extract(&ev, dst[:0])
		}
	}
	b.ReportMetric(float64(len(xs)), "fields/op")
}

// BenchmarkDecodeExtractAll decodes a pod create event and extracts every
// field of the registry from it: the cost of one event for a ruleset using
// every field once.
func BenchmarkDecodeExtractAll(b *testing.B) {
	data := compactFixture(b, "pod_create.json")
	var ev Event
	xs := allExtractors(b)
	dst := make([]event.Value, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		if err := ev.Decode(data); err != nil {
			b.Fatal(err)
		}
		for _, x := range xs {
			dst = x.Extract(&ev, dst[:0])
		}
	}
}

// BenchmarkReader reads pod create events, one JSON line each, as the
// kube-apiserver log backend writes them.
func BenchmarkReader(b *testing.B) {
	line := append(compactFixture(b, "pod_create.json"), '\n')
	benchRead(b, bytes.Repeat(line, 10000), len(line))
}

// BenchmarkReaderEventList reads webhook-style EventLists of 100 pod create
// events, one list per line.
func BenchmarkReaderEventList(b *testing.B) {
	line := append(eventList(b, hundred("pod_create.json")...), '\n')
	benchRead(b, bytes.Repeat(line, 100), len(line)/100)
}

// hundred names a fixture 100 times, for an EventList of 100 events.
func hundred(name string) []string {
	names := make([]string, 100)
	for i := range names {
		names[i] = name
	}
	return names
}

// benchRead reads events from data over and over, one per iteration;
// perEvent is the size of one event for the MB/s figure.
func benchRead(b *testing.B, data []byte, perEvent int) {
	var ev Event
	r := NewReader(bytes.NewReader(data), "bench")
	b.ReportAllocs()
	b.SetBytes(int64(perEvent))
	for b.Loop() {
		err := r.Next(&ev)
		if err == io.EOF {
			r = NewReader(bytes.NewReader(data), "bench")
			err = r.Next(&ev)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeBody decodes a webhook body of 100 pod create events with
// a reused BodyDecoder.
func BenchmarkDecodeBody(b *testing.B) {
	body := eventList(b, hundred("pod_create.json")...)
	n := 0
	var bd BodyDecoder
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := bd.Decode(body, func(*Event) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
}
