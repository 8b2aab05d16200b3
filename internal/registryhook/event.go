// Package registryhook scans images when they are pushed to a registry:
// it decodes Docker Distribution notification envelopes and Harbor
// webhooks (POST /hooks/registry), queues one scan per pushed manifest
// digest in a bounded background queue, pulls the image by digest, scans
// it, stores the JSON report and raises an alert when the findings pass a
// threshold.
package registryhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ContentTypeDistribution is the media type of Docker Distribution
// notification envelopes.
const ContentTypeDistribution = "application/vnd.docker.distribution.events.v1+json"

// ErrBadPayload is wrapped by the errors of Parse for a body that is not a
// usable notification.
var ErrBadPayload = errors.New("bad registry notification")

// Push is one pushed image manifest to scan.
type Push struct {
	Registry   string // host[:port] the image is pulled from
	Repository string // repository path inside the registry, e.g. "library/nginx"
	Digest     string // manifest digest, "sha256:…"
	Tag        string // tag pushed with it, if the notification names one
	Source     string // "distribution" or "harbor"
}

// Ref returns the pull reference registry/repository@digest.
func (p Push) Ref() string { return p.Registry + "/" + p.Repository + "@" + p.Digest }

// Image returns the human name of the pushed image: registry/repository
// with the tag when known, else the digest reference.
func (p Push) Image() string {
	if p.Tag != "" {
		return p.Registry + "/" + p.Repository + ":" + p.Tag
	}
	return p.Ref()
}

// Parsed is what Parse found in one request body.
type Parsed struct {
	Pushes []Push
	// Ignored counts the events that are not image manifest pushes: pulls,
	// deletes, blob pushes, manifest lists and indexes (whose platform
	// manifests arrive as pushes of their own), other Harbor event types.
	Ignored int
}

// Manifest media types scanned; indexes and manifest lists are ignored
// because the registry notifies each platform manifest on its own.
var scannedManifestTypes = map[string]bool{
	"application/vnd.docker.distribution.manifest.v2+json": true,
	"application/vnd.oci.image.manifest.v1+json":           true,
}

// Parse decodes a notification body. contentType selects the Distribution
// envelope; other bodies are recognised by their shape: {"events": [...]}
// is a Distribution envelope, {"type": ...} a Harbor webhook (the default
// payload, or the CloudEvents one with "specversion"). Every bad event is
// reported, each naming its index and field; the events that are good are
// returned with the error.
func Parse(contentType string, body []byte) (Parsed, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == ContentTypeDistribution {
		return parseDistribution(body)
	}
	var probe struct {
		Events json.RawMessage `json:"events"`
		Type   *string         `json:"type"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return Parsed{}, fmt.Errorf("%w: body is not a JSON object: %v", ErrBadPayload, err)
	}
	switch {
	case probe.Events != nil:
		return parseDistribution(body)
	case probe.Type != nil:
		return parseHarbor(body)
	}
	return Parsed{}, fmt.Errorf("%w: neither a Distribution envelope (events) nor a Harbor webhook (type)", ErrBadPayload)
}

type distributionEnvelope struct {
	Events *[]distributionEvent `json:"events"`
}

type distributionEvent struct {
	ID     string `json:"id"`
	Action string `json:"action"`
	Target struct {
		MediaType  string `json:"mediaType"`
		Digest     string `json:"digest"`
		Repository string `json:"repository"`
		URL        string `json:"url"`
		Tag        string `json:"tag"`
	} `json:"target"`
	Request struct {
		Host string `json:"host"`
	} `json:"request"`
}

func parseDistribution(body []byte) (Parsed, error) {
	var env distributionEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return Parsed{}, fmt.Errorf("%w: distribution envelope: %v", ErrBadPayload, err)
	}
	if env.Events == nil {
		return Parsed{}, fmt.Errorf("%w: distribution envelope: no events field", ErrBadPayload)
	}
	var out Parsed
	var errs []error
	for i, ev := range *env.Events {
		if ev.Action != "push" || !scannedManifestTypes[ev.Target.MediaType] {
			out.Ignored++
			continue
		}
		host := ev.Request.Host
		if host == "" {
			host = hostOfURL(ev.Target.URL)
		}
		p := Push{Registry: host, Repository: ev.Target.Repository, Digest: ev.Target.Digest, Tag: ev.Target.Tag, Source: "distribution"}
		if err := p.validate(); err != nil {
			errs = append(errs, fmt.Errorf("events[%d] (id %q): %w", i, ev.ID, err))
			continue
		}
		out.Pushes = append(out.Pushes, p)
	}
	if err := errors.Join(errs...); err != nil {
		return out, fmt.Errorf("%w: %w", ErrBadPayload, err)
	}
	return out, nil
}

// hostOfURL returns the host of "http://host:port/v2/…", or "".
func hostOfURL(u string) string {
	_, rest, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	host, _, _ := strings.Cut(rest, "/")
	return host
}

type harborPayload struct {
	Type        string           `json:"type"`
	SpecVersion string           `json:"specversion"` // CloudEvents format
	EventData   *harborEventData `json:"event_data"`
	Data        *harborEventData `json:"data"` // CloudEvents format
}

type harborEventData struct {
	Resources []struct {
		Digest      string `json:"digest"`
		Tag         string `json:"tag"`
		ResourceURL string `json:"resource_url"`
	} `json:"resources"`
	Repository struct {
		RepoFullName string `json:"repo_full_name"`
	} `json:"repository"`
}

func parseHarbor(body []byte) (Parsed, error) {
	var h harborPayload
	if err := json.Unmarshal(body, &h); err != nil {
		return Parsed{}, fmt.Errorf("%w: harbor webhook: %v", ErrBadPayload, err)
	}
	data, field := h.EventData, "event_data"
	if h.SpecVersion != "" {
		data, field = h.Data, "data"
	}
	if h.Type != "PUSH_ARTIFACT" && h.Type != "harbor.artifact.pushed" {
		return Parsed{Ignored: 1}, nil
	}
	if data == nil {
		return Parsed{}, fmt.Errorf("%w: harbor webhook %s: no %s", ErrBadPayload, h.Type, field)
	}
	var out Parsed
	var errs []error
	repo := data.Repository.RepoFullName
	for i, r := range data.Resources {
		// resource_url is host/repo:tag or host/repo@digest.
		host, _, _ := strings.Cut(r.ResourceURL, "/")
		p := Push{Registry: host, Repository: repo, Digest: r.Digest, Tag: r.Tag, Source: "harbor"}
		if err := p.validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s.resources[%d]: %w", field, i, err))
			continue
		}
		out.Pushes = append(out.Pushes, p)
	}
	if len(data.Resources) == 0 {
		errs = append(errs, fmt.Errorf("%s.resources: empty", field))
	}
	if err := errors.Join(errs...); err != nil {
		return out, fmt.Errorf("%w: %w", ErrBadPayload, err)
	}
	return out, nil
}

// validate checks the fields a pull needs, naming the bad one.
func (p *Push) validate() error {
	if p.Registry == "" {
		return errors.New("no registry host (request.host, target.url or resource_url)")
	}
	if _, err := name.NewRegistry(p.Registry); err != nil || strings.ContainsAny(p.Registry, "/@ ") {
		return fmt.Errorf("registry host %q is not a host[:port]", p.Registry)
	}
	if p.Repository == "" {
		return errors.New("repository: empty")
	}
	if _, err := name.NewRepository(p.Registry + "/" + p.Repository); err != nil {
		return fmt.Errorf("repository %q: %v", p.Repository, err)
	}
	h, err := v1.NewHash(p.Digest)
	if err != nil || h.Algorithm != "sha256" {
		return fmt.Errorf("digest %q is not a sha256:<64 hex> digest", p.Digest)
	}
	if p.Tag != "" {
		if _, err := name.NewTag(p.Registry + "/" + p.Repository + ":" + p.Tag); err != nil {
			p.Tag = "" // a bad tag does not prevent the scan by digest
		}
	}
	return nil
}
