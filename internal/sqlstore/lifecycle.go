package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/contactgraph/contactgraph"
)

// Lifecycle notifications recorded on demand (the emulator), by the
// reauthorization sweep, and when a subscription ends. Every one is an
// outbox row written by enqueueLifecycle in the transaction that decides
// it, so it commits with that decision or not at all.

// millis is t in Unix milliseconds, 0 for the zero time.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// endSubscription ends a subscription in tx: it expires at now (in its row
// and its document), its pending change notifications go, and it gets a
// subscriptionRemoved notification when it has a lifecycle URL. Lifecycle
// entries already waiting stay, to be delivered.
func (s *Store) endSubscription(ctx context.Context, tx *conn, sub contactgraph.Subscription, now int64) error {
	if _, err := s.exec(ctx, tx, `DELETE FROM outbox WHERE sub_id = ? AND lifecycle = ''`, sub.ID); err != nil {
		return fmt.Errorf("end subscription: %w", err)
	}
	sub.Expires = time.UnixMilli(now).UTC()
	doc, err := json.Marshal(sub)
	if err != nil {
		return fmt.Errorf("end subscription: %w", err)
	}
	if _, err := s.exec(ctx, tx, `UPDATE subscriptions SET expires = ?, doc = ? WHERE id = ?`, now, string(doc), sub.ID); err != nil {
		return fmt.Errorf("end subscription: %w", err)
	}
	if sub.LifecycleURL == "" {
		return nil
	}
	return s.enqueueLifecycle(ctx, tx, sub.ID, contactgraph.LifecycleSubscriptionRemoved, now)
}

// EnqueueLifecycle implements contactgraph.SubscriptionStore. Its first
// statement takes the subscription's row lock (a no-op update that also
// checks tenant and expiry), so the document it reads is current until it
// commits, even against a concurrent renewal on PostgreSQL.
func (s *Store) EnqueueLifecycle(ctx context.Context, tenantID, id, event string, now time.Time) error {
	switch event {
	case contactgraph.LifecycleMissed, contactgraph.LifecycleSubscriptionRemoved, contactgraph.LifecycleReauthorizationRequired:
	default:
		return contactgraph.Errorf(contactgraph.EInvalid, "The lifecycle event '%s' is not one of %s, %s and %s.", contactgraph.Truncate(event, 64),
			contactgraph.LifecycleMissed, contactgraph.LifecycleSubscriptionRemoved, contactgraph.LifecycleReauthorizationRequired)
	}
	at := now.UnixMilli()
	return s.write(ctx, func(tx *conn) error {
		r, err := s.exec(ctx, tx, `UPDATE subscriptions SET reauth_at = reauth_at WHERE id = ? AND tenant_id = ? AND expires > ?`, id, tenantID, at)
		if err != nil {
			return fmt.Errorf("enqueue lifecycle: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return subscriptionNotFound()
		}
		sub, err := s.readSubscription(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		if sub.LifecycleURL == "" {
			return contactgraph.Errorf(contactgraph.EInvalid, "The subscription has no lifecycleNotificationUrl to send '%s' to.", event)
		}
		if event == contactgraph.LifecycleSubscriptionRemoved {
			return s.endSubscription(ctx, tx, sub, at)
		}
		return s.enqueueLifecycle(ctx, tx, sub.ID, event, at)
	})
}

// RequestReauthorization implements contactgraph.SubscriptionStore. One
// UPDATE … RETURNING picks the subscriptions due for a notice and stamps
// reauth_at in the same statement; on PostgreSQL a concurrent sweep blocks
// on the rows it stamped and, re-checking reauth_at on their new version,
// skips them, so replicas sweeping at once record one notice. A
// subscription without a lifecycle URL is stamped too (it is not looked at
// again for every) and gets nothing. The candidates come from the partial
// index subscriptions_token: the cost is that of the subscriptions near
// their token's expiry, not of all.
func (s *Store) RequestReauthorization(ctx context.Context, now time.Time, lead, every time.Duration) (int, error) {
	at := now.UnixMilli()
	var n int
	err := s.write(ctx, func(tx *conn) error {
		n = 0
		rows, err := s.query(ctx, tx, `UPDATE subscriptions SET reauth_at = ?
			WHERE token_expires <> 0 AND token_expires <= ? AND expires > ? AND reauth_at <= ?
			AND NOT EXISTS (SELECT 1 FROM outbox WHERE outbox.sub_id = subscriptions.id AND outbox.object_id = ?)
			RETURNING doc`,
			at, at+lead.Milliseconds(), at, at-every.Milliseconds(), "~"+contactgraph.LifecycleReauthorizationRequired)
		if err != nil {
			return fmt.Errorf("request reauthorization: %w", err)
		}
		var due []string
		for rows.Next() {
			sub, err := scanSubscription(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("request reauthorization: %w", err)
			}
			if sub.LifecycleURL != "" {
				due = append(due, sub.ID)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("request reauthorization: %w", err)
		}
		for _, id := range due {
			if err := s.enqueueLifecycle(ctx, tx, id, contactgraph.LifecycleReauthorizationRequired, at); err != nil {
				return err
			}
		}
		n = len(due)
		return nil
	})
	return n, err
}
