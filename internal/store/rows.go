package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// DecodeFields decodes a stored JSON object (output fields, attributes):
// integers become int64, other numbers float64, arrays []any and objects
// map[string]any — the types alert.Alert.OutputFields holds when built.
func DecodeFields(s string) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	for k, v := range m {
		m[k] = numbers(v)
	}
	return m, nil
}

// numbers replaces json.Number values in v by int64 or float64.
func numbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		f, _ := v.Float64()
		return f
	case []any:
		for i := range v {
			v[i] = numbers(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = numbers(v[k])
		}
	}
	return v
}

// ScanAsset reads one asset row — kind, id, name, first_seen, last_seen
// (ns since the epoch), attributes (JSON text), alerts — from a
// database/sql or pgx row.
func ScanAsset(row interface{ Scan(...any) error }) (Asset, error) {
	var (
		a           Asset
		first, last int64
		attrs       string
	)
	if err := row.Scan(&a.Kind, &a.ID, &a.Name, &first, &last, &attrs, &a.Alerts); err != nil {
		return a, err
	}
	a.FirstSeen, a.LastSeen = time.Unix(0, first).UTC(), time.Unix(0, last).UTC()
	m, err := DecodeFields(attrs)
	if err != nil {
		return a, fmt.Errorf("asset %s %s: attributes: %w", a.Kind, a.ID, err)
	}
	a.Attributes = m
	return a, nil
}
