package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/contactgraph/contactgraph"
)

// A subscription watches one collection of the change log: its (scope,
// kind) are those of the collection's rows in changes, so recording a
// change finds its subscriptions through one index (subscriptions_watch)
// and a write costs O(log n + matches), never O(subscriptions).

// watchScope returns the change-log collection a subscription watches.
func watchScope(w contactgraph.Watched) (string, int, error) {
	switch w.Collection {
	case "contacts":
		return w.FolderID, kindContact, nil
	case "folders":
		if w.FolderID == "" {
			return mailboxScope(w.Mailbox), kindFolder, nil
		}
		return w.FolderID, kindFolder, nil
	case "orgContacts":
		return orgScope(w.Mailbox.TenantID), kindOrgContact, nil
	}
	return "", 0, fmt.Errorf("watch: unknown collection %q", w.Collection)
}

// readSubscription reads a subscription by id, of the tenant when tenantID
// is not empty. ENotFound.
func (s *Store) readSubscription(ctx context.Context, x *conn, tenantID, id string) (contactgraph.Subscription, error) {
	q, args := `SELECT doc FROM subscriptions WHERE id = ?`, []any{id}
	if tenantID != "" {
		q, args = q+` AND tenant_id = ?`, append(args, tenantID)
	}
	sub, err := scanSubscription(s.queryRow(ctx, x, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return sub, subscriptionNotFound()
	}
	return sub, err
}

// scanSubscription decodes a subscription kept as JSON in subscriptions.doc.
func scanSubscription(row interface{ Scan(...any) error }) (contactgraph.Subscription, error) {
	var doc string
	var sub contactgraph.Subscription
	if err := row.Scan(&doc); err != nil {
		return sub, err
	}
	if err := json.Unmarshal([]byte(doc), &sub); err != nil {
		return sub, fmt.Errorf("decode subscription: %w", err)
	}
	return sub, nil
}

func subscriptionNotFound() error {
	return contactgraph.ErrNotFound
}

// CreateSubscription implements contactgraph.SubscriptionStore. The quota
// is checked under the mailbox's counter row lock, so concurrent creates
// on PostgreSQL cannot pass it together.
func (s *Store) CreateSubscription(ctx context.Context, sub contactgraph.Subscription) (contactgraph.Subscription, error) {
	scope, kind, err := watchScope(sub.Watched)
	if err != nil {
		return sub, err
	}
	doc, err := json.Marshal(sub)
	if err != nil {
		return sub, err
	}
	owner := sub.Watched.Mailbox.UserID
	err = s.write(ctx, func(tx *conn) error {
		if owner == "" { // org contacts: the directory's quota per tenant, under the tenant's counter row lock
			if _, err := s.tenantRevs(ctx, tx, sub.TenantID, 0); err != nil {
				return fmt.Errorf("lock tenant: %w", err)
			}
			var n int
			if err := s.queryRow(ctx, tx, `SELECT COUNT(*) FROM subscriptions WHERE tenant_id = ? AND owner_id = ''`, sub.TenantID).Scan(&n); err != nil {
				return fmt.Errorf("count subscriptions: %w", err)
			}
			if n >= contactgraph.MaxOrgSubscriptionsPerTenant {
				return contactgraph.Errorf(contactgraph.EForbidden,
					"The tenant has reached its limit of %d subscriptions to org contacts.", contactgraph.MaxOrgSubscriptionsPerTenant)
			}
		}
		if owner != "" {
			if _, err := s.exec(ctx, tx, `UPDATE users SET rev = rev WHERE tenant_id = ? AND id = ?`, sub.TenantID, owner); err != nil {
				return fmt.Errorf("lock mailbox: %w", err)
			}
			var n int
			if err := s.queryRow(ctx, tx, `SELECT COUNT(*) FROM subscriptions WHERE tenant_id = ? AND owner_id = ?`, sub.TenantID, owner).Scan(&n); err != nil {
				return fmt.Errorf("count subscriptions: %w", err)
			}
			if n >= contactgraph.MaxSubscriptionsPerMailbox {
				return contactgraph.Errorf(contactgraph.EForbidden,
					"The mailbox has reached its limit of %d subscriptions.", contactgraph.MaxSubscriptionsPerMailbox)
			}
		}
		_, err := s.exec(ctx, tx, `INSERT INTO subscriptions (id, tenant_id, app_id, user_id, owner_id, scope, kind, changes, expires, token_expires, doc)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sub.ID, sub.TenantID, sub.AppID, sub.UserID, owner, scope, kind, int(sub.Changes), sub.Expires.UnixMilli(), millis(sub.TokenExpires), string(doc))
		if s.Dialect.IsUniqueViolation(err) {
			return contactgraph.Errorf(contactgraph.EConflict, "A subscription with this id exists.")
		}
		if err != nil {
			return fmt.Errorf("create subscription: %w", err)
		}
		return nil
	})
	return sub, err
}

// Subscription implements contactgraph.SubscriptionStore.
func (s *Store) Subscription(ctx context.Context, tenantID, id string) (contactgraph.Subscription, error) {
	ctx, end := s.op(ctx)
	sub, err := s.readSubscription(ctx, s.rq(), tenantID, id)
	return sub, end(err)
}

// ListSubscriptions implements contactgraph.SubscriptionStore.
func (s *Store) ListSubscriptions(ctx context.Context, tenantID, appID, userID string, p contactgraph.Page) ([]contactgraph.Subscription, error) {
	ctx, end := s.op(ctx)
	list, err := s.listSubscriptions(ctx, tenantID, appID, userID, p)
	return list, end(err)
}

func (s *Store) listSubscriptions(ctx context.Context, tenantID, appID, userID string, p contactgraph.Page) ([]contactgraph.Subscription, error) {
	q := `SELECT doc FROM subscriptions WHERE tenant_id = ? AND app_id = ? AND id > ?`
	args := []any{tenantID, appID, p.After}
	if userID != "" {
		q += ` AND user_id = ?`
		args = append(args, userID)
	}
	rows, err := s.query(ctx, s.rq(), q+` ORDER BY id LIMIT ?`, append(args, p.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	defer rows.Close()
	var out []contactgraph.Subscription
	for rows.Next() {
		sub, err := scanSubscription(rows)
		if err != nil {
			return nil, fmt.Errorf("list subscriptions: %w", err)
		}
		out = append(out, sub)
	}
	return out, rows.Err()
}

// RenewSubscription implements contactgraph.SubscriptionStore. Its first
// statement takes the subscription's row lock, so that on PostgreSQL a
// concurrent renewal or end of the subscription cannot interleave with its
// read and write of the document.
func (s *Store) RenewSubscription(ctx context.Context, tenantID, id string, expires, tokenExpires time.Time) (contactgraph.Subscription, error) {
	var sub contactgraph.Subscription
	err := s.write(ctx, func(tx *conn) error {
		r, err := s.exec(ctx, tx, `UPDATE subscriptions SET reauth_at = 0 WHERE id = ? AND tenant_id = ?`, id, tenantID)
		if err != nil {
			return fmt.Errorf("renew subscription: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return subscriptionNotFound()
		}
		sub, err = s.readSubscription(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		if !expires.IsZero() {
			sub.Expires = expires
		}
		if !tokenExpires.IsZero() {
			sub.TokenExpires = tokenExpires
		}
		doc, err := json.Marshal(sub)
		if err != nil {
			return err
		}
		_, err = s.exec(ctx, tx, `UPDATE subscriptions SET expires = ?, token_expires = ?, doc = ? WHERE id = ?`,
			sub.Expires.UnixMilli(), millis(sub.TokenExpires), string(doc), id)
		return err
	})
	return sub, err
}

// DeleteSubscription implements contactgraph.SubscriptionStore.
func (s *Store) DeleteSubscription(ctx context.Context, tenantID, id string) error {
	return s.write(ctx, func(tx *conn) error {
		r, err := s.exec(ctx, tx, `DELETE FROM subscriptions WHERE id = ? AND tenant_id = ?`, id, tenantID)
		if err != nil {
			return fmt.Errorf("delete subscription: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return subscriptionNotFound()
		}
		if _, err := s.exec(ctx, tx, `DELETE FROM outbox WHERE sub_id = ?`, id); err != nil {
			return fmt.Errorf("delete subscription: %w", err)
		}
		return nil
	})
}

// RemoveExpiredSubscriptions implements contactgraph.SubscriptionStore.
// A subscription whose lifecycle notification is still to be delivered
// (subscriptionRemoved, missed) stays until it is.
func (s *Store) RemoveExpiredSubscriptions(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *conn) error {
		if _, err := s.exec(ctx, tx, `DELETE FROM outbox WHERE lifecycle = '' AND sub_id IN (SELECT id FROM subscriptions WHERE expires <= ?)`, now.UnixMilli()); err != nil {
			return fmt.Errorf("remove expired subscriptions: %w", err)
		}
		r, err := s.exec(ctx, tx, `DELETE FROM subscriptions WHERE expires <= ? AND NOT EXISTS (SELECT 1 FROM outbox WHERE outbox.sub_id = subscriptions.id)`, now.UnixMilli())
		if err != nil {
			return fmt.Errorf("remove expired subscriptions: %w", err)
		}
		n, _ = r.RowsAffected()
		return nil
	})
	return int(n), err
}

// endSubscriptions ends the subscriptions of a tenant (of one mailbox when
// owner is not empty), in the transaction that removes what they watch
// (see endSubscription).
func (s *Store) endSubscriptions(ctx context.Context, tx *conn, tenantID, owner string) error {
	q, args := `SELECT doc FROM subscriptions WHERE tenant_id = ?`, []any{tenantID}
	if owner != "" {
		q, args = q+` AND owner_id = ?`, append(args, owner)
	}
	rows, err := s.query(ctx, tx, q, args...)
	if err != nil {
		return fmt.Errorf("end subscriptions: %w", err)
	}
	var subs []contactgraph.Subscription
	for rows.Next() {
		sub, err := scanSubscription(rows)
		if err != nil {
			rows.Close()
			return fmt.Errorf("end subscriptions: %w", err)
		}
		subs = append(subs, sub)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("end subscriptions: %w", err)
	}
	now := s.nowMillis()
	for _, sub := range subs {
		if err := s.endSubscription(ctx, tx, sub, now); err != nil {
			return fmt.Errorf("end subscriptions: %w", err)
		}
	}
	return nil
}

// enqueue records, in the write's transaction, one outbox entry per live
// subscription that watches (scope, kind) and asks for change. It is called
// with every change-log row a write appends.
// EnqueueStatement records the notifications of one change: one outbox row
// for each unexpired subscription of the collection (scope, kind) that
// asks for the change type. It finds them through the subscriptions_watch
// index, so its cost grows with the subscriptions of that collection, not
// with all subscriptions (the stores' tests check the query plan).
const EnqueueStatement = `INSERT INTO outbox (sub_id, rev, object_id, kind, change, lifecycle, at, due, attempts, lease_owner, lease_until)
		SELECT id, CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS INTEGER), CAST(? AS INTEGER), '', CAST(? AS BIGINT), CAST(? AS BIGINT), 0, '', 0
		FROM subscriptions WHERE scope = ? AND kind = ? AND (changes & ?) <> 0 AND expires > ?`

func (s *Store) enqueue(ctx context.Context, tx *conn, scope string, kind int, id string, rev int64, change contactgraph.ChangeType) error {
	now := s.nowMillis()
	r, err := s.exec(ctx, tx, EnqueueStatement, rev, id, kind, int(change), now, now, scope, kind, int(change), now)
	if err != nil {
		return fmt.Errorf("record notification: %w", err)
	}
	if n, _ := r.RowsAffected(); n > 0 {
		tx.queued = true
	}
	return nil
}

// enqueueLifecycle records a lifecycle notification for a subscription.
// Its revision is the negated time, so that lifecycle entries never take
// the key of a change; two of one event in the same millisecond are one.
func (s *Store) enqueueLifecycle(ctx context.Context, tx *conn, subID, event string, now int64) error {
	_, err := s.exec(ctx, tx, `INSERT INTO outbox (sub_id, rev, object_id, kind, change, lifecycle, at, due, attempts, lease_owner, lease_until)
		VALUES (?, ?, ?, 0, 0, ?, ?, ?, 0, '', 0) ON CONFLICT DO NOTHING`, subID, -now, "~"+event, event, now, now)
	if err != nil {
		return fmt.Errorf("record lifecycle notification: %w", err)
	}
	tx.queued = true
	return nil
}

// ClaimNotifications implements contactgraph.SubscriptionStore. The outer
// lease condition is evaluated again on the row a concurrent claimer may
// have just leased (PostgreSQL re-checks it after the row lock), so an
// entry is leased to one sender at a time. Change entries of a
// subscription whose token has expired stay where they are (held) until a
// renewal moves subscriptions.token_expires past now.
func (s *Store) ClaimNotifications(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]contactgraph.Notification, error) {
	at := now.UnixMilli()
	var out []contactgraph.Notification
	err := s.write(ctx, func(tx *conn) error {
		rows, err := s.query(ctx, tx, `UPDATE outbox SET lease_owner = ?, lease_until = ?
			WHERE lease_until <= ? AND (sub_id, rev, object_id) IN (
				SELECT o.sub_id, o.rev, o.object_id FROM outbox o JOIN subscriptions s ON s.id = o.sub_id
				WHERE o.due <= ? AND o.lease_until <= ?
				AND ((s.expires > ? AND (s.token_expires = 0 OR s.token_expires > ?)) OR o.lifecycle <> '') ORDER BY o.due LIMIT ?)
			RETURNING sub_id, rev, object_id, kind, change, lifecycle, at, attempts`,
			owner, now.Add(lease).UnixMilli(), at, at, at, at, at, limit)
		if err != nil {
			return fmt.Errorf("claim notifications: %w", err)
		}
		kinds := map[contactgraph.NotificationKey]int{}
		for rows.Next() {
			var n contactgraph.Notification
			var kind, change int
			var recorded int64
			if err := rows.Scan(&n.Key.SubscriptionID, &n.Key.Rev, &n.Key.ObjectID, &kind, &change, &n.Lifecycle, &recorded, &n.Attempts); err != nil {
				rows.Close()
				return fmt.Errorf("claim notifications: %w", err)
			}
			n.Change, n.Recorded = contactgraph.ChangeType(change), time.UnixMilli(recorded)
			if n.Lifecycle == "" {
				n.ObjectID = n.Key.ObjectID
			}
			kinds[n.Key] = kind
			out = append(out, n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("claim notifications: %w", err)
		}
		return s.fillNotifications(ctx, tx, out, kinds)
	})
	return out, err
}

// fillNotifications loads the subscriptions of claimed entries and the
// current etags of the contacts they name.
func (s *Store) fillNotifications(ctx context.Context, tx *conn, out []contactgraph.Notification, kinds map[contactgraph.NotificationKey]int) error {
	subs := map[string]contactgraph.Subscription{}
	var contactIDs []string
	for _, n := range out {
		subs[n.Key.SubscriptionID] = contactgraph.Subscription{}
		if kinds[n.Key] == kindContact && n.ObjectID != "" {
			contactIDs = append(contactIDs, n.ObjectID)
		}
	}
	for id := range subs {
		sub, err := s.readSubscription(ctx, tx, "", id)
		if err != nil && !errors.Is(err, contactgraph.ErrNotFound) {
			return fmt.Errorf("claim notifications: %w", err)
		}
		subs[id] = sub
	}
	etags := map[string]string{}
	for len(contactIDs) > 0 {
		chunk := contactIDs[:min(len(contactIDs), 200)]
		contactIDs = contactIDs[len(chunk):]
		rows, err := s.query(ctx, tx, `SELECT id, change_key FROM contacts WHERE id`+inList(len(chunk)), anys(chunk)...)
		if err != nil {
			return fmt.Errorf("claim notifications: %w", err)
		}
		for rows.Next() {
			var id, ck string
			if err := rows.Scan(&id, &ck); err != nil {
				rows.Close()
				return fmt.Errorf("claim notifications: %w", err)
			}
			etags[id] = (&contactgraph.Contact{ChangeKey: ck}).ETag()
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	for i := range out {
		out[i].Subscription = subs[out[i].Key.SubscriptionID]
		out[i].ETag = etags[out[i].ObjectID]
	}
	return nil
}

// keyed runs stmt (with "?" for the owner first, then the key columns) for
// each key leased to owner.
func (s *Store) keyed(ctx context.Context, tx *conn, stmt string, head []any, keys []contactgraph.NotificationKey) error {
	for _, k := range keys {
		args := append(append([]any{}, head...), k.SubscriptionID, k.Rev, k.ObjectID)
		if _, err := s.exec(ctx, tx, stmt, args...); err != nil {
			return err
		}
	}
	return nil
}

const keyWhere = ` WHERE lease_owner = ? AND sub_id = ? AND rev = ? AND object_id = ?`

// AckNotifications implements contactgraph.SubscriptionStore.
func (s *Store) AckNotifications(ctx context.Context, owner string, keys []contactgraph.NotificationKey) error {
	return s.write(ctx, func(tx *conn) error {
		if err := s.keyed(ctx, tx, `DELETE FROM outbox`+keyWhere, []any{owner}, keys); err != nil {
			return fmt.Errorf("ack notifications: %w", err)
		}
		return nil
	})
}

// RetryNotifications implements contactgraph.SubscriptionStore.
func (s *Store) RetryNotifications(ctx context.Context, owner string, keys []contactgraph.NotificationKey, due time.Time) error {
	return s.write(ctx, func(tx *conn) error {
		if err := s.keyed(ctx, tx, `UPDATE outbox SET due = ?, attempts = attempts + 1, lease_owner = '', lease_until = 0`+keyWhere,
			[]any{due.UnixMilli(), owner}, keys); err != nil {
			return fmt.Errorf("retry notifications: %w", err)
		}
		return nil
	})
}

// DropNotifications implements contactgraph.SubscriptionStore.
func (s *Store) DropNotifications(ctx context.Context, owner string, keys []contactgraph.NotificationKey, now time.Time) error {
	return s.write(ctx, func(tx *conn) error {
		if err := s.keyed(ctx, tx, `DELETE FROM outbox`+keyWhere, []any{owner}, keys); err != nil {
			return fmt.Errorf("drop notifications: %w", err)
		}
		seen := map[string]bool{}
		for _, k := range keys {
			if seen[k.SubscriptionID] || strings.HasPrefix(k.ObjectID, "~") {
				continue // a dropped lifecycle notification raises no other
			}
			seen[k.SubscriptionID] = true
			sub, err := s.readSubscription(ctx, tx, "", k.SubscriptionID)
			if errors.Is(err, contactgraph.ErrNotFound) {
				continue
			}
			if err != nil {
				return fmt.Errorf("drop notifications: %w", err)
			}
			if sub.LifecycleURL != "" {
				if err := s.enqueueLifecycle(ctx, tx, sub.ID, contactgraph.LifecycleMissed, now.UnixMilli()); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// OutboxDepth implements contactgraph.SubscriptionStore.
func (s *Store) OutboxDepth(ctx context.Context) (int, error) {
	var n int
	ctx, end := s.op(ctx)
	if err := s.queryRow(ctx, s.rq(), `SELECT COUNT(*) FROM outbox`).Scan(&n); err != nil {
		return 0, end(fmt.Errorf("outbox depth: %w", err))
	}
	return n, end(nil)
}
