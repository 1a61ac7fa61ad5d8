package contactgraph

import (
	"context"
	"time"
)

// ChangeType is a set of the kinds of change a subscription asks for.
type ChangeType int

// The change types of a subscription, as a bit set.
const (
	ChangeCreated ChangeType = 1 << iota
	ChangeUpdated
	ChangeDeleted
)

// Lifecycle events. A lifecycle notification is an outbox entry too; it
// goes to the subscription's lifecycleNotificationUrl.
const (
	LifecycleMissed                  = "missed"
	LifecycleSubscriptionRemoved     = "subscriptionRemoved"
	LifecycleReauthorizationRequired = "reauthorizationRequired"
)

// Watched is the collection a subscription watches: the contacts of one
// folder, the folders of a mailbox, or a tenant's org contacts. It names the
// same collections delta rounds read, so a subscription sees exactly the
// changes a delta round over its resource would return.
type Watched struct {
	Collection string  // "contacts", "folders" or "orgContacts"
	Mailbox    Mailbox // contacts and folders; zero for org contacts
	FolderID   string  // contacts: the folder; folders: "" for every folder
}

// Subscription is a change-notification subscription.
type Subscription struct {
	ID       string
	TenantID string
	AppID    string // the application that created it
	// CreatorID is the user id of a delegated creator, else the app id.
	CreatorID string
	// UserID is the delegated creator's user id; "" for an application.
	UserID   string
	Watched  Watched
	Resource string // as given by the client, without the base URL
	Changes  ChangeType

	NotificationURL  string
	LifecycleURL     string // "" when none
	ClientState      string // never returned to clients
	Expires          time.Time
	TokenExpires     time.Time // when the creating (or last renewing) token expires
	Created          time.Time
	LatestTLSVersion string

	// IncludeResourceData, EncryptionCertificate (base64 DER) and
	// EncryptionCertificateID ask for rich notifications.
	IncludeResourceData     bool
	EncryptionCertificate   string
	EncryptionCertificateID string
	// Select is the $select of Resource, validated against the schema of
	// the watched collection (Schema.Select: "id" first, then schema
	// order): the properties a rich notification carries. nil when the
	// resource has no $select.
	Select []string
}

// MaxSubscriptionsPerMailbox is Outlook's quota of active subscriptions of
// one mailbox, across applications.
const MaxSubscriptionsPerMailbox = 1000

// MaxOrgSubscriptionsPerTenant is the quota of subscriptions to a tenant's
// org contacts, across applications: the directory's limit per tenant.
const MaxOrgSubscriptionsPerTenant = 1000

// Notification is one entry of the outbox, claimed by a sender: a change
// of one object for one subscription, or a lifecycle event.
type Notification struct {
	Key          NotificationKey
	Subscription Subscription
	Change       ChangeType // 0 for a lifecycle event
	Lifecycle    string     // the event of a lifecycle notification
	ObjectID     string     // the changed object; "" for a lifecycle event
	ETag         string     // the object's current etag, when it has one
	Recorded     time.Time  // when the write committed it
	Attempts     int        // failed deliveries so far
}

// NotificationKey identifies an outbox entry.
type NotificationKey struct {
	SubscriptionID string
	Rev            int64
	ObjectID       string
}

// SubscriptionStore is the part of the Store that keeps subscriptions and
// the notification outbox.
//
// The outbox is written by the writes themselves: every write of an object
// records, in its own transaction, one outbox entry for each subscription
// (not expired) that watches the collection and asks for that change type.
// A committed change therefore always has its notifications, a rolled-back
// one never does. Senders lease entries (ClaimNotifications), and either
// remove them after delivery (AckNotifications) or put them back for a later
// attempt (RetryNotifications); a lease that runs out makes the entry
// claimable again, so a sender that dies loses nothing.
type SubscriptionStore interface {
	// CreateSubscription stores a new subscription. EForbidden when the
	// mailbox already has MaxSubscriptionsPerMailbox subscriptions.
	CreateSubscription(ctx context.Context, s Subscription) (Subscription, error)
	// Subscription returns a subscription of the tenant. ENotFound.
	Subscription(ctx context.Context, tenantID, id string) (Subscription, error)
	// ListSubscriptions lists the tenant's subscriptions of an application
	// by id; when userID is not empty, only those created by that user.
	ListSubscriptions(ctx context.Context, tenantID, appID, userID string, p Page) ([]Subscription, error)
	// RenewSubscription sets a subscription's expiry and token expiry
	// (zero times keep them), and forgets when it was last asked to
	// reauthorize (see RequestReauthorization). ENotFound.
	RenewSubscription(ctx context.Context, tenantID, id string, expires, tokenExpires time.Time) (Subscription, error)
	// DeleteSubscription deletes a subscription with its pending
	// notifications. ENotFound.
	DeleteSubscription(ctx context.Context, tenantID, id string) error

	// ClaimNotifications leases up to limit outbox entries that are due at
	// now and not leased, to owner, until now+lease. Change entries of
	// expired subscriptions are not claimed; lifecycle entries are. Change
	// entries of a subscription whose TokenExpires has passed are held:
	// kept, not claimed, until RenewSubscription gives it a later token
	// expiry (they are then claimed as usual, none lost) or the
	// subscription expires (they go with it). A zero TokenExpires holds
	// nothing.
	ClaimNotifications(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Notification, error)
	// AckNotifications removes delivered entries still leased to owner.
	AckNotifications(ctx context.Context, owner string, keys []NotificationKey) error
	// RetryNotifications releases entries leased to owner, due again at
	// due, with one more failed attempt counted.
	RetryNotifications(ctx context.Context, owner string, keys []NotificationKey, due time.Time) error
	// DropNotifications removes entries leased to owner that will not be
	// delivered, and records a "missed" lifecycle notification for each of
	// their subscriptions that has a lifecycle URL.
	DropNotifications(ctx context.Context, owner string, keys []NotificationKey, now time.Time) error
	// OutboxDepth counts the entries waiting for delivery.
	OutboxDepth(ctx context.Context) (int, error)
	// RemoveExpiredSubscriptions deletes subscriptions that expired before
	// now, with their pending change notifications; one with a lifecycle
	// notification still to deliver stays until it is delivered or
	// dropped. It returns how many it removed.
	//
	// DeleteUser and ResetTenant end the subscriptions of what they remove
	// in their own transaction: the subscriptions expire, and each with a
	// lifecycle URL gets a subscriptionRemoved notification.
	RemoveExpiredSubscriptions(ctx context.Context, now time.Time) (int, error)

	// EnqueueLifecycle records a lifecycle notification (one of
	// LifecycleMissed, LifecycleSubscriptionRemoved,
	// LifecycleReauthorizationRequired) for a subscription of the tenant,
	// due at now: the emulator's "send a lifecycle event now".
	// LifecycleSubscriptionRemoved also ends the subscription, as removing
	// its mailbox does: it expires at now and its pending change
	// notifications go, in the same transaction. ENotFound for an unknown
	// subscription, another tenant's, or one expired at now; EInvalid for
	// another event or a subscription without a lifecycle URL.
	EnqueueLifecycle(ctx context.Context, tenantID, subscriptionID, event string, now time.Time) error

	// RequestReauthorization records a reauthorizationRequired lifecycle
	// notification for every subscription, not expired at now, with a
	// lifecycle URL and a TokenExpires no later than now+lead, that was
	// not asked within every (since now-every) and has no such
	// notification still waiting for delivery. It returns how many it
	// recorded. RenewSubscription makes a subscription eligible again at
	// once.
	//
	// Graph asks before the token expires, more often as expiry nears;
	// senders call this periodically (notify.Sender.Sweep) with lead 60
	// minutes and every 15 minutes: a first notice up to an hour before
	// the token's expiry, then one each quarter hour. The notices go on
	// after the token has expired, while the subscription's change
	// notifications are held (see ClaimNotifications), until it is renewed
	// or expires. Concurrent calls (replicas) record one notice a period.
	RequestReauthorization(ctx context.Context, now time.Time, lead, every time.Duration) (int, error)
}
