package store

import (
	"context"
	"errors"
	"time"

	"github.com/vigilsec/vigil/internal/alert"
)

// ErrConflict is returned when creating a user or token whose name or id
// exists.
var ErrConflict = errors.New("already exists")

// Timeline entry kinds.
const (
	KindAlert  = "alert"
	KindStatus = "status"
	KindNote   = "note"
	KindAction = "action"
)

// TimelineEntry is one event in the life of an alert.
type TimelineEntry struct {
	Time  time.Time
	Kind  string // KindAlert, KindStatus, KindNote, KindAction
	Actor string // user or token name; "" for Vigil itself
	Text  string
}

// Detail is an alert with everything its detail page shows.
type Detail struct {
	StoredAlert
	// Context is the provenance and container recorded at alert time; nil
	// when none was.
	Context *alert.Context
	// Children are processes started by the alerting process (see
	// ExecRecord), oldest first.
	Children []alert.Proc
	// Timeline is oldest first; it starts with the alert itself.
	Timeline []TimelineEntry
}

// ExecRecord is a process start Vigil kept because its parent raised an
// alert: the children of an alert's process.
type ExecRecord struct {
	Host string
	Proc alert.Proc
}

// Asset kinds.
const (
	AssetHost      = "hosts"
	AssetContainer = "containers"
	AssetImage     = "images"
	AssetPod       = "pods"
)

// ValidAssetKind reports whether k is one of the asset kinds.
func ValidAssetKind(k string) bool {
	switch k {
	case AssetHost, AssetContainer, AssetImage, AssetPod:
		return true
	}
	return false
}

// Asset is a host, container, image or pod Vigil has seen. Its ID is the
// value alerts carry for it: the hostname, the 12-character container id,
// the image repository, or "namespace/pod".
type Asset struct {
	Kind       string
	ID         string
	Name       string
	FirstSeen  time.Time
	LastSeen   time.Time
	Attributes map[string]any
	// Alerts counts the alerts (by their Count) raised on the asset.
	Alerts int64
}

// Role is what a user or token may do.
type Role string

// Roles.
const (
	RoleAdmin  Role = "admin"  // everything
	RoleViewer Role = "viewer" // read-only
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleViewer }

// User is a console or API user with a password.
type User struct {
	Name         string
	Role         Role
	PasswordHash string // encoded slow hash (see package auth)
	Created      time.Time
}

// Token is an API token. Only a hash of its secret is kept.
type Token struct {
	ID       string
	Name     string
	Role     Role
	Hash     string // hex SHA-256 of the secret
	Created  time.Time
	LastUsed time.Time // zero when never used
}

// AlertAPI is what the HTTP API needs beyond Store.
type AlertAPI interface {
	// Detail returns an alert with its context, children and timeline.
	Detail(ctx context.Context, id int64) (Detail, error)
	// UpdateStatus sets the status and note of an alert, records it in the
	// timeline under actor and returns the updated alert.
	UpdateStatus(ctx context.Context, id int64, status Status, note, actor string) (StoredAlert, error)
	// AddTimeline appends an entry (a note, an action) to an alert's
	// timeline, or returns ErrNotFound.
	AddTimeline(ctx context.Context, id int64, e TimelineEntry) error
	// After returns up to limit alerts with an ID above id, oldest first.
	After(ctx context.Context, id int64, limit int) ([]StoredAlert, error)
	// LastID returns the highest alert ID, 0 when empty.
	LastID(ctx context.Context) (int64, error)
	// RecordExecs keeps process starts (children of alerting processes).
	RecordExecs(ctx context.Context, recs []ExecRecord) error
	// UpsertAssets records assets: new ones are created, known ones get
	// their name and attributes replaced (when given) and LastSeen raised.
	UpsertAssets(ctx context.Context, assets []Asset) error
	// Assets lists the assets of kind, most recently seen first.
	Assets(ctx context.Context, kind string) ([]Asset, error)
	// Asset returns one asset, or ErrNotFound.
	Asset(ctx context.Context, kind, id string) (Asset, error)
}

// Accounts keeps users and API tokens.
type Accounts interface {
	// CreateUser adds a user, or returns ErrConflict.
	CreateUser(ctx context.Context, u User) error
	// User returns a user, or ErrNotFound.
	User(ctx context.Context, name string) (User, error)
	// Users lists the users by name.
	Users(ctx context.Context) ([]User, error)
	// DeleteUser removes a user, or returns ErrNotFound.
	DeleteUser(ctx context.Context, name string) error
	// CreateToken adds a token, or returns ErrConflict.
	CreateToken(ctx context.Context, t Token) error
	// Tokens lists the tokens, oldest first.
	Tokens(ctx context.Context) ([]Token, error)
	// TokenByHash returns the token whose secret hashes to hash, or
	// ErrNotFound.
	TokenByHash(ctx context.Context, hash string) (Token, error)
	// TouchToken sets the last use of a token.
	TouchToken(ctx context.Context, id string, t time.Time) error
	// DeleteToken removes a token, or returns ErrNotFound.
	DeleteToken(ctx context.Context, id string) error
}

// SeriesPoint counts alerts by priority in one time bucket.
type SeriesPoint struct {
	Time       time.Time
	ByPriority map[string]int64
}

// Seriesser returns alert counts per time bucket.
type Seriesser interface {
	// Series counts alerts (by their Count) with since <= Time < until per
	// bucket and priority, oldest bucket first; empty buckets are left out.
	Series(ctx context.Context, since, until time.Time, bucket time.Duration) ([]SeriesPoint, error)
}
