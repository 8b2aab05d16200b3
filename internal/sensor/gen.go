package sensor

//go:generate go tool bpf2go -tags linux -target amd64,arm64 -type exec_event -type event_kind -type event_flag sensor bpf/exec.bpf.c -- -I./bpf -O2 -g -Wall -Werror
