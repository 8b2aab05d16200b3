package app

import (
	"context"
	"log/slog"
	"reflect"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/respond"
	"github.com/vigilsec/vigil/internal/respond/policy"
)

// ResponseOptions configures the response policies of vigil run (the
// response section of vigil.yaml).
type ResponseOptions struct {
	Policies  []policy.Policy
	Exclude   policy.Exclude
	QueueSize int
	Workers   int
	// EvidenceDir receives capture bundles; default DATA_DIR/evidence.
	EvidenceDir string
	// OnResult, when set, sees the result of every action a policy runs
	// (measurements, tests).
	OnResult func(a *alert.Alert, policy string, r policy.Result)
}

// startResponse returns the executor of response actions (used by the
// API) and, when policies are configured, the fanout output of the policy
// engine: it receives the alerts the policies match, queues them without
// blocking, acts on them on its workers, and records the results in the
// alerts' timelines in db (nil: only logged and audited).
func startResponse(ctx context.Context, o ResponseOptions, dataDir, version string, db policy.AlertStore, log *slog.Logger) (*policy.Executor, []alert.Output, error) {
	x := policy.NewExecutor(policy.ExecutorConfig{Respond: respond.Config{DataDir: dataDir, Logger: log},
		DataDir: dataDir, EvidenceDir: o.EvidenceDir, Version: version, Logger: log})
	if len(o.Policies) == 0 {
		return x, nil, nil
	}
	var tl policy.Timeline
	if v := reflect.ValueOf(db); db != nil && !(v.Kind() == reflect.Pointer && v.IsNil()) {
		tl = &policy.StoreTimeline{Store: db}
	}
	eng, err := policy.New(ctx, policy.Config{Policies: o.Policies, Exclude: o.Exclude, QueueSize: o.QueueSize,
		Workers: o.Workers, Logger: log, OnResult: o.OnResult}, x, tl)
	if err != nil {
		return nil, nil, err
	}
	names := make([]string, len(o.Policies))
	for i, p := range o.Policies {
		names[i] = p.Name
	}
	log.Info("response policies loaded", "component", "policy", "policies", names)
	return x, []alert.Output{{Name: "response", Sink: eng, Accept: eng.Accept, QueueSize: o.QueueSize}}, nil
}
