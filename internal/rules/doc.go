// Package rules loads, compiles and evaluates rules written in Falco's rule
// language: lists, macros and rules with conditions, outputs, priorities,
// tags, exceptions, append and override, spread over several files that
// extend each other in load order.
//
// Load reads every file, applies appends and overrides, then compiles each
// rule's condition once against its source's field registry. An Evaluator
// matches events against the compiled rules: rules are indexed by event type
// so an event visits only the rules that can match it, and evaluation
// allocates nothing per event.
package rules
