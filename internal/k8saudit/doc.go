// Package k8saudit is the Kubernetes audit event source ("k8s_audit") of
// Vigil's Falco-compatible rules engine.
//
// It reads audit.k8s.io/v1 and v1beta1 Event and EventList objects, from log
// files (one JSON document per line, or whole pretty-printed documents) with
// Reader and from webhook request bodies with DecodeBody, into reusable
// Events. Source describes the fields of Falco's k8saudit plugin (ka.*), of
// its json plugin (json.*, jevt.*) and Falco's generic evt.* time fields,
// and compiles them into extractors that read values out of an Event
// without allocating.
//
// Events are parsed by a small JSON parser that builds a flat array of
// nodes pointing into the event's own bytes. Strings returned by extractors
// point into the Event: they are valid until the Event is decoded into
// again, and must be copied to be kept longer. An Event is not safe for
// concurrent use: extraction caches decoded strings in it.
package k8saudit
