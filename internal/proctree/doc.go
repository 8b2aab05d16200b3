// Package proctree keeps Vigil's table of processes (thread groups), threads
// and open file descriptors, so that every kernel event can be given its
// full context: executable, command line, parent chain, working directory,
// user, terminal, container and file descriptors.
//
// A Table is seeded from /proc when the sensor starts (Seed), then kept up
// to date by the sensor's lifecycle and syscall events (Fork, Exec, Exit,
// OpenFD, Connect, ...). A lookup that misses for a live pid loads that pid
// from /proc, so an event from a process the sensor never saw start still
// gets context. Exited processes stay in the table for a grace period so
// that late events and ancestry still resolve, then they are reaped.
//
// A Table is not safe for concurrent use: one goroutine (the sensor's event
// loop) makes every update and every lookup. The *sysevent.Process,
// *sysevent.Thread and *sysevent.FD it returns are owned by the table: they
// may be read while the event they were looked up for is processed, and
// must not be retained after that (their memory is reused once reaped).
// The User, Group and container.Info values they point to are immutable and
// may be kept.
//
// See docs/process-table.md for what is tracked, where it comes from, the
// bounds and the grace periods.
package proctree
