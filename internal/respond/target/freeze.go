package target

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrNoFreezer means the target has no cgroup of its own to freeze.
var ErrNoFreezer = errors.New("no freezer cgroup")

// Freezer returns the file that freezes the target's cgroup and how it is
// written: cgroup v2's cgroup.freeze ("1"/"0") when the container has its
// own v2 cgroup, else the v1 freezer's freezer.state (FROZEN/THAWED).
func (t *Target) Freezer() (file string, v2 bool, err error) {
	if !t.IsContainer() {
		return "", false, fmt.Errorf("%s: only containers are frozen (their whole cgroup): %w", t.Name(), ErrNoFreezer)
	}
	if d := t.V2Dir(); d != "" {
		f := filepath.Join(d, "cgroup.freeze")
		if _, err := os.Stat(f); err == nil {
			return f, true, nil
		}
	}
	if d := t.V1Dir("freezer"); d != "" {
		f := filepath.Join(d, "freezer.state")
		if _, err := os.Stat(f); err == nil {
			return f, false, nil
		}
	}
	return "", false, fmt.Errorf("%s: %w (v2 %q, v1 freezer %q)", t.Name(), ErrNoFreezer, t.CgroupV2, t.CgroupV1["freezer"])
}

// Frozen reports whether the target's cgroup is frozen now.
func (t *Target) Frozen() (bool, error) {
	file, v2, err := t.Freezer()
	if err != nil {
		return false, err
	}
	if v2 {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "cgroup.events"))
		if err != nil {
			return false, fmt.Errorf("read freezer of %s: %w", t.Name(), err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if l == "frozen 1" {
				return true, nil
			}
		}
		return false, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return false, fmt.Errorf("read freezer of %s: %w", t.Name(), err)
	}
	return strings.TrimSpace(string(b)) == "FROZEN", nil
}

// Freeze freezes (or, with freeze false, thaws) the target's cgroup and
// waits until the kernel reports every task frozen (thawed).
func (t *Target) Freeze(ctx context.Context, freeze bool) error {
	file, v2, err := t.Freezer()
	if err != nil {
		return err
	}
	val := map[[2]bool]string{{true, true}: "1", {true, false}: "0", {false, true}: "FROZEN", {false, false}: "THAWED"}[[2]bool{v2, freeze}]
	verb := map[bool]string{true: "freeze", false: "thaw"}[freeze]
	if err := os.WriteFile(file, []byte(val), 0); err != nil {
		return fmt.Errorf("%s %s (%s): %w", verb, t.Name(), file, err)
	}
	tick := 200 * time.Microsecond
	for {
		got, err := t.Frozen()
		if err != nil {
			return err
		}
		if got == freeze {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s %s: not done: %w", verb, t.Name(), ctx.Err())
		case <-time.After(tick):
		}
		if tick < 20*time.Millisecond {
			tick *= 2
		}
		if !v2 && freeze {
			// The v1 freezer retries from FREEZING when written again.
			_ = os.WriteFile(file, []byte(val), 0)
		}
	}
}
