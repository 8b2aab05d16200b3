package sensor

//go:generate go tool bpf2go -tags linux -target amd64,arm64 -type exec_event -type fork_event -type syscall_event -type sc_desc -type event_kind -type event_flag -type sc_flag sensor bpf/sensor.bpf.c -- -I./bpf -O2 -g -Wall -Werror
