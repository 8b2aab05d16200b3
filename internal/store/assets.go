package store

import "github.com/vigilsec/vigil/internal/alert"

// AssetKey names one asset.
type AssetKey struct{ Kind, ID string }

// AssetCount is what a batch of alerts says of one asset: when it was
// first and last seen (ns since the epoch) and in how many alerts.
type AssetCount struct {
	First, Last int64
	N           int64
}

// AssetCounts aggregates the assets named by a batch of alerts (the host,
// container, image and pod of each), so that a store's Insert writes one
// upsert per distinct asset, not per alert. The zero value is ready.
type AssetCounts map[AssetKey]*AssetCount

// Add counts the assets of a, whose context c was extracted from it.
func (m *AssetCounts) Add(a *alert.Alert, c *Context) {
	t := a.Time.UnixNano()
	bump := func(kind, id string) {
		if id == "" {
			return
		}
		if *m == nil {
			*m = AssetCounts{}
		}
		k := AssetKey{kind, id}
		e := (*m)[k]
		if e == nil {
			(*m)[k] = &AssetCount{First: t, Last: t, N: 1}
			return
		}
		e.First, e.Last, e.N = min(e.First, t), max(e.Last, t), e.N+1
	}
	bump(AssetHost, a.Hostname)
	bump(AssetContainer, c.Container)
	bump(AssetImage, c.Image)
	if c.Pod != "" {
		bump(AssetPod, c.Namespace+"/"+c.Pod)
	}
}

// Name is the display name an asset gets from alerts alone: a host is
// named by its id; other kinds get their names from metadata.
func (k AssetKey) Name() string {
	if k.Kind == AssetHost {
		return k.ID
	}
	return ""
}
