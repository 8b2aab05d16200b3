package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/auth"
	"github.com/vigilsec/vigil/internal/respond/policy"
	"github.com/vigilsec/vigil/internal/store"
)

// AlertActioner runs a response action on the container or process of an
// alert (policy.Executor implements it).
type AlertActioner interface {
	AlertAction(ctx context.Context, a *alert.Alert, action string, allow []string, actor string) (policy.Result, error)
}

// actionTimeout bounds an action started from the API (a capture of a
// large container takes seconds); it goes on if the client leaves.
const actionTimeout = 2 * time.Minute

type actionReply struct {
	Action     string       `json:"action"`
	Status     string       `json:"status"`
	Target     string       `json:"target"`
	Detail     string       `json:"detail,omitempty"`
	Bundle     string       `json:"bundle,omitempty"`
	Error      string       `json:"error,omitempty"`
	DurationMS float64      `json:"duration_ms"`
	Timeline   timelineJSON `json:"timeline"`
}

// alertAction serves POST /api/v1/alerts/{id}/actions: run a response
// action on the alert's container or process, record it in the alert's
// timeline under the user, and say what happened: 200 done, 400 bad
// request or no confirm, 404 no such alert, 409 the alert has no target
// for the action, 410 the target is gone, 500 the action failed.
func (a *api) alertAction(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id, ok := alertID(w, r)
	if !ok {
		return
	}
	var req struct {
		Action  string   `json:"action"`
		Confirm bool     `json:"confirm"`
		Allow   []string `json:"allow"`
	}
	if !decode(w, r, &req) {
		return
	}
	if !policy.ValidAPIAction(req.Action) {
		writeError(w, http.StatusBadRequest, "action: want one of "+policy.APIActions+", got \""+req.Action+"\"")
		return
	}
	if !req.Confirm {
		writeError(w, http.StatusBadRequest, "confirm: send \"confirm\": true to run "+req.Action+" on the alert's target")
		return
	}
	if a.cfg.Actions == nil {
		writeError(w, http.StatusServiceUnavailable, "response actions are not available on this server")
		return
	}
	d, err := a.cfg.Store.Detail(r.Context(), id)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	al := d.Alert
	al.Context = d.Context
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), actionTimeout)
	defer cancel()
	res, err := a.cfg.Actions.AlertAction(ctx, &al, req.Action, req.Allow, p.Name)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	e := store.TimelineEntry{Time: res.Done, Kind: store.KindAction, Actor: p.Name, Text: res.Text()}
	if err := a.cfg.Store.AddTimeline(ctx, id, e); err != nil {
		a.s.log.Error("record action in the alert timeline", "alert", id, "action", req.Action, "err", err)
	}
	a.s.log.Info("response action", "by", p.Name, "alert", id, "action", req.Action, "target", res.Target,
		"status", res.Status, "err", res.Err)
	code := http.StatusOK
	switch {
	case res.Err == nil:
	case errors.Is(res.Err, policy.ErrNoTarget):
		code = http.StatusConflict
	case policy.IsGone(res.Err):
		code = http.StatusGone
	default:
		code = http.StatusInternalServerError
	}
	out := actionReply{Action: res.Action, Status: res.Status, Target: res.Target, Detail: res.Detail, Bundle: res.Bundle,
		DurationMS: float64(res.Done.Sub(res.Start).Microseconds()) / 1000,
		Timeline:   timelineJSON{fmtTime(e.Time), e.Kind, e.Actor, e.Text}}
	if res.Err != nil {
		out.Error = res.Err.Error()
	}
	writeJSON(w, code, out)
}
