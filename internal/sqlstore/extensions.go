package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/contactgraph/contactgraph"
)

// nameKey is the key of an extension name: names compare without regard
// to case.
func nameKey(name string) string { return strings.ToLower(name) }

func noExtension(name string) error {
	return contactgraph.Errorf(contactgraph.ENotFound, "The contact has no open extension named '%s'.", name)
}

// writeParts writes, in a contact's create or update transaction, the open
// extensions (create only: UpdateContact refuses them), the photo and the
// extended properties of in, and checks the contact's totals.
func (s *Store) writeParts(ctx context.Context, tx *conn, mb contactgraph.Mailbox, id string, in contactgraph.ContactInput) error {
	switch {
	case in.Photo != nil:
		if err := s.putPhoto(ctx, tx, mb, id, in.Photo); err != nil {
			return err
		}
	case in.RemovePhoto:
		if err := s.dropPhoto(ctx, tx, id); err != nil {
			return err
		}
	}
	for _, e := range in.Extensions {
		if err := s.insertExtension(ctx, tx, mb, id, e); err != nil {
			return err
		}
	}
	if len(in.Extended) == 0 {
		return nil
	}
	for _, p := range in.Extended {
		if p.Remove {
			if _, err := s.exec(ctx, tx, `DELETE FROM contact_ext_props WHERE contact_id = ? AND prop_key = ?`, id, p.Key); err != nil {
				return fmt.Errorf("write extended property: %w", err)
			}
			continue
		}
		value, valueKey := p.Value, contactgraph.ExtendedValueKey(p.Value)
		if p.Multi {
			b, err := json.Marshal(p.Values)
			if err != nil {
				return fmt.Errorf("write extended property: %w", err)
			}
			value, valueKey = string(b), ""
		}
		if _, err := s.exec(ctx, tx, `INSERT INTO contact_ext_props (contact_id, prop_key, tenant_id, user_id, prop_id, multi, value, value_key)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (contact_id, prop_key) DO UPDATE SET prop_id = excluded.prop_id, value = excluded.value, value_key = excluded.value_key`,
			id, p.Key, mb.TenantID, mb.UserID, p.ID, flag(p.Multi), value, valueKey); err != nil {
			return fmt.Errorf("write extended property: %w", err)
		}
	}
	var n int
	if err := s.queryRow(ctx, tx, `SELECT COUNT(*) FROM contact_ext_props WHERE contact_id = ?`, id).Scan(&n); err != nil {
		return fmt.Errorf("count extended properties: %w", err)
	}
	if n > contactgraph.MaxExtendedProperties {
		return contactgraph.Errorf(contactgraph.EInvalid, "A contact holds at most %d extended properties.", contactgraph.MaxExtendedProperties)
	}
	return nil
}

// insertExtension adds an open extension to a contact: EConflict for a
// name it has, EInvalid past MaxExtensions.
func (s *Store) insertExtension(ctx context.Context, tx *conn, mb contactgraph.Mailbox, id string, e contactgraph.Extension) error {
	if e.Name == "" {
		return contactgraph.Errorf(contactgraph.EInvalid, "The property 'extensionName' is required.")
	}
	var n, same int
	if err := s.queryRow(ctx, tx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN name_key = ? THEN 1 ELSE 0 END), 0) FROM contact_extensions WHERE contact_id = ?`,
		nameKey(e.Name), id).Scan(&n, &same); err != nil {
		return fmt.Errorf("create extension: %w", err)
	}
	switch {
	case same > 0:
		return contactgraph.Errorf(contactgraph.EConflict, "The contact already has an open extension named '%s'.", e.Name)
	case n >= contactgraph.MaxExtensions:
		return contactgraph.Errorf(contactgraph.EInvalid, "A contact holds at most %d open extensions.", contactgraph.MaxExtensions)
	}
	_, err := s.exec(ctx, tx, `INSERT INTO contact_extensions (contact_id, name_key, tenant_id, user_id, name, data) VALUES (?, ?, ?, ?, ?, ?)`,
		id, nameKey(e.Name), mb.TenantID, mb.UserID, e.Name, string(e.Data))
	if s.Dialect.IsUniqueViolation(err) {
		return contactgraph.Errorf(contactgraph.EConflict, "The contact already has an open extension named '%s'.", e.Name)
	}
	if err != nil {
		return fmt.Errorf("create extension: %w", err)
	}
	return nil
}

// extension reads an open extension of a contact of the mailbox.
func (s *Store) extension(ctx context.Context, x *conn, mb contactgraph.Mailbox, id, name string) (*contactgraph.Extension, error) {
	e := &contactgraph.Extension{}
	var data string
	err := s.queryRow(ctx, x, `SELECT name, data FROM contact_extensions WHERE contact_id = ? AND name_key = ? AND tenant_id = ? AND user_id = ?`,
		id, nameKey(name), mb.TenantID, mb.UserID).Scan(&e.Name, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, noExtension(name)
	}
	if err != nil {
		return nil, fmt.Errorf("read extension: %w", err)
	}
	e.Data = json.RawMessage(data)
	return e, nil
}

// ContactExtensions implements contactgraph.Store.
func (s *Store) ContactExtensions(ctx context.Context, mb contactgraph.Mailbox, id string) ([]contactgraph.Extension, error) {
	var out []contactgraph.Extension
	err := s.read(ctx, func(tx *conn) error {
		if _, err := s.contact(ctx, tx, mb, id); err != nil {
			return err
		}
		parts, err := s.extensionsOf(ctx, tx, mb, []string{id}, nil)
		if err != nil {
			return err
		}
		if p := parts[id]; p != nil {
			out = p.Extensions
		}
		return nil
	})
	return out, err
}

// ContactExtension implements contactgraph.Store.
func (s *Store) ContactExtension(ctx context.Context, mb contactgraph.Mailbox, id, name string) (*contactgraph.Extension, error) {
	var e *contactgraph.Extension
	err := s.read(ctx, func(tx *conn) error {
		if _, err := s.contact(ctx, tx, mb, id); err != nil {
			return err
		}
		var err error
		e, err = s.extension(ctx, tx, mb, id, name)
		return err
	})
	return e, err
}

// CreateContactExtension implements contactgraph.Store.
func (s *Store) CreateContactExtension(ctx context.Context, mb contactgraph.Mailbox, id string, e contactgraph.Extension, ifMatch string) (*contactgraph.Extension, error) {
	err := s.write(ctx, func(tx *conn) error {
		rev, old, err := s.contactToChange(ctx, tx, mb, id, ifMatch)
		if err != nil {
			return err
		}
		if err := s.insertExtension(ctx, tx, mb, id, e); err != nil {
			return err
		}
		_, err = s.touchContact(ctx, tx, rev, old)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// UpdateContactExtension implements contactgraph.Store.
func (s *Store) UpdateContactExtension(ctx context.Context, mb contactgraph.Mailbox, id, name string, e contactgraph.Extension, ifMatch string) (*contactgraph.Extension, error) {
	var out *contactgraph.Extension
	err := s.write(ctx, func(tx *conn) error {
		rev, old, err := s.contactToChange(ctx, tx, mb, id, ifMatch)
		if err != nil {
			return err
		}
		if e.Name != "" && nameKey(e.Name) != nameKey(name) {
			return contactgraph.Errorf(contactgraph.EInvalid, "The extensionName '%s' of the body is not the name of the extension '%s' it updates.", e.Name, name)
		}
		cur, err := s.extension(ctx, tx, mb, id, name)
		if err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `UPDATE contact_extensions SET data = ? WHERE contact_id = ? AND name_key = ?`, string(e.Data), id, nameKey(name)); err != nil {
			return fmt.Errorf("update extension: %w", err)
		}
		out = &contactgraph.Extension{Name: cur.Name, Data: e.Data}
		_, err = s.touchContact(ctx, tx, rev, old)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteContactExtension implements contactgraph.Store.
func (s *Store) DeleteContactExtension(ctx context.Context, mb contactgraph.Mailbox, id, name, ifMatch string) error {
	return s.write(ctx, func(tx *conn) error {
		rev, old, err := s.contactToChange(ctx, tx, mb, id, ifMatch)
		if err != nil {
			return err
		}
		res, err := s.exec(ctx, tx, `DELETE FROM contact_extensions WHERE contact_id = ? AND name_key = ?`, id, nameKey(name))
		if err != nil {
			return fmt.Errorf("delete extension: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return fmt.Errorf("delete extension: %w", err)
			}
			return noExtension(name)
		}
		_, err = s.touchContact(ctx, tx, rev, old)
		return err
	})
}

// ContactParts implements contactgraph.Store.
func (s *Store) ContactParts(ctx context.Context, mb contactgraph.Mailbox, ids []string, q contactgraph.PartsQuery) (map[string]*contactgraph.ContactParts, error) {
	out := map[string]*contactgraph.ContactParts{}
	if len(ids) == 0 || q.Empty() {
		return out, nil
	}
	err := s.read(ctx, func(tx *conn) error {
		if q.Extensions && (q.ExtensionNames == nil || len(q.ExtensionNames) > 0) {
			ext, err := s.extensionsOf(ctx, tx, mb, ids, q.ExtensionNames)
			if err != nil {
				return err
			}
			out = ext
		}
		if q.Photo {
			if err := s.photosOf(ctx, tx, mb, ids, out); err != nil {
				return err
			}
		}
		return s.propertiesOf(ctx, tx, mb, ids, q, out)
	})
	return out, err
}

// partsOf returns the entry of id in m, creating it.
func partsOf(m map[string]*contactgraph.ContactParts, id string) *contactgraph.ContactParts {
	p := m[id]
	if p == nil {
		p = &contactgraph.ContactParts{}
		m[id] = p
	}
	return p
}

// extensionsOf reads the open extensions of contacts of the mailbox, only
// those named in names when it is not nil, by contact and name.
func (s *Store) extensionsOf(ctx context.Context, tx *conn, mb contactgraph.Mailbox, ids, names []string) (map[string]*contactgraph.ContactParts, error) {
	args := append([]any{mb.TenantID, mb.UserID}, anys(ids)...)
	cond := ""
	if names != nil {
		keys := make([]string, len(names))
		for i, n := range names {
			keys[i] = nameKey(n)
		}
		cond = ` AND name_key` + inList(len(keys))
		args = append(args, anys(keys)...)
	}
	rows, err := s.query(ctx, tx, `SELECT contact_id, name, data FROM contact_extensions WHERE tenant_id = ? AND user_id = ? AND contact_id`+inList(len(ids))+cond+
		` ORDER BY contact_id, name_key`, args...)
	if err != nil {
		return nil, fmt.Errorf("read extensions: %w", err)
	}
	defer rows.Close()
	out := map[string]*contactgraph.ContactParts{}
	for rows.Next() {
		var id, name, data string
		if err := rows.Scan(&id, &name, &data); err != nil {
			return nil, fmt.Errorf("read extensions: %w", err)
		}
		p := partsOf(out, id)
		p.Extensions = append(p.Extensions, contactgraph.Extension{Name: name, Data: json.RawMessage(data)})
	}
	return out, rows.Err()
}

// propertiesOf adds to out the extended properties q asks for on
// contacts of the mailbox, by contact and key.
// propertiesOfQuery reads the properties of given keys of given contacts.
// The tenant and user conditions are Unindexed: otherwise SQLite reads
// them through contact_ext_props_value (tenant_id, user_id, prop_key, …),
// which for a page of 200 contacts it preferred to the primary key: every
// property of those keys in the mailbox for each page, which made a full
// sync-collection quadratic in the address book's size.
func propertiesOfQuery(d Dialect, ids, keys int) string {
	return `SELECT contact_id, prop_key, prop_id, multi, value FROM contact_ext_props WHERE ` + d.Unindexed("tenant_id") + ` = ? AND ` +
		d.Unindexed("user_id") + ` = ? AND contact_id` + inList(ids) + ` AND prop_key` + inList(keys) + ` ORDER BY contact_id, prop_key`
}

func (s *Store) propertiesOf(ctx context.Context, tx *conn, mb contactgraph.Mailbox, ids []string, q contactgraph.PartsQuery, out map[string]*contactgraph.ContactParts) error {
	want := map[string]bool{} // key + "\x00" + multi
	var keys []string
	for _, k := range q.Single {
		want[k+"\x000"] = true
		keys = append(keys, k)
	}
	for _, k := range q.Multi {
		want[k+"\x001"] = true
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil
	}
	args := append(append([]any{mb.TenantID, mb.UserID}, anys(ids)...), anys(keys)...)
	rows, err := s.query(ctx, tx, propertiesOfQuery(s.Dialect, len(ids), len(keys)), args...)
	if err != nil {
		return fmt.Errorf("read extended properties: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, key, propID, value string
		var multi int
		if err := rows.Scan(&id, &key, &propID, &multi, &value); err != nil {
			return fmt.Errorf("read extended properties: %w", err)
		}
		if !want[fmt.Sprintf("%s\x00%d", key, multi)] {
			continue
		}
		ep := contactgraph.ExtendedProperty{ID: propID, Key: key, Multi: multi == 1}
		p := partsOf(out, id)
		if ep.Multi {
			if err := json.Unmarshal([]byte(value), &ep.Values); err != nil {
				return fmt.Errorf("read extended properties: %w", err)
			}
			p.Multi = append(p.Multi, ep)
			continue
		}
		ep.Value = value
		p.Single = append(p.Single, ep)
	}
	return rows.Err()
}

// contactsByPropertyQuery reads one range of contact_ext_props_value, in
// contact id order, and each contact by its primary key: the folder's
// other contacts are never read.
var contactsByPropertyQuery = `SELECT c.id, ` + prefixed("c.", contactCols) + ` FROM contact_ext_props p JOIN contacts c ON c.id = p.contact_id
WHERE p.tenant_id = ? AND p.user_id = ? AND p.prop_key = ? AND p.value_key = ? AND p.contact_id > ? AND c.folder_id = ?
ORDER BY p.contact_id LIMIT ?`

// ExtendedPropertyCondition is the SQL condition, on contacts aliased c,
// that a contact has a single-value extended property of a value: Graph's
// $filter=singleValueExtendedProperties/any(ep: ep/id eq '…' and ep/value
// eq '…'); the contact list's $filter compiler emits the same condition
// from contactsTable's side table of the collection. Its arguments, in
// order: the mailbox's tenant id and user id,
// contactgraph.ExtendedPropertyKey(id) and
// contactgraph.ExtendedValueKey(contactgraph.CanonicalExtendedValue(id, value)).
// The subquery is one range of the index contact_ext_props_value.
const ExtendedPropertyCondition = `c.id IN (SELECT p.contact_id FROM contact_ext_props p WHERE p.tenant_id = ? AND p.user_id = ? AND p.prop_key = ? AND p.value_key = ?)`

// ContactsByExtendedProperty implements contactgraph.Store with
// contactsByPropertyQuery.
func (s *Store) ContactsByExtendedProperty(ctx context.Context, mb contactgraph.Mailbox, folderID, propID, value string, p contactgraph.Page) ([]*contactgraph.Contact, error) {
	key, err := contactgraph.ExtendedPropertyKey(propID)
	if err != nil {
		return nil, err
	}
	if value, err = contactgraph.CanonicalExtendedValue(propID, value); err != nil {
		return nil, err
	}
	var out []*contactgraph.Contact
	err = s.read(ctx, func(tx *conn) error {
		if _, err := s.folder(ctx, tx, mb, folderID); err != nil {
			return err
		}
		rows, err := s.query(ctx, tx, contactsByPropertyQuery, mb.TenantID, mb.UserID, key, contactgraph.ExtendedValueKey(value), p.After, folderID, p.Limit)
		if err != nil {
			return fmt.Errorf("find contacts: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var r contactRow
			if err := rows.Scan(append([]any{&id}, r.dest()...)...); err != nil {
				return fmt.Errorf("find contacts: %w", err)
			}
			out = append(out, r.contact(id))
		}
		return rows.Err()
	})
	return out, err
}

// prefixed qualifies each column of a comma-separated list.
func prefixed(prefix, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, c := range parts {
		parts[i] = prefix + c
	}
	return strings.Join(parts, ", ")
}
