package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/contactgraph/contactgraph"
)

// partTables are the tables of what a contact holds beside its document.
var partTables = []string{"contact_photos", "contact_extensions", "contact_ext_props"}

// deleteParts returns the statements that delete the parts of the
// contacts cond selects (a condition on contact_id, or on the mailbox
// columns tenant_id and user_id).
func deleteParts(cond string) []string {
	out := make([]string, len(partTables))
	for i, t := range partTables {
		out[i] = `DELETE FROM ` + t + ` WHERE ` + cond
	}
	return out
}

func noPhoto() error {
	return contactgraph.Errorf(contactgraph.ENotFound, "The contact has no photo.")
}

// photo reads the photo of a contact of the mailbox; nil when it has none.
func (s *Store) photo(ctx context.Context, x *conn, mb contactgraph.Mailbox, id string, withData bool) (*contactgraph.Photo, error) {
	p := &contactgraph.Photo{}
	cols, dest := `content_type, width, height, size, media_etag`, []any{&p.ContentType, &p.Width, &p.Height, &p.Size, &p.MediaETag}
	if withData {
		cols, dest = cols+`, data`, append(dest, &p.Data)
	}
	err := s.queryRow(ctx, x, `SELECT `+cols+` FROM contact_photos WHERE contact_id = ? AND tenant_id = ? AND user_id = ?`,
		id, mb.TenantID, mb.UserID).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read photo: %w", err)
	}
	return p, nil
}

// ContactPhoto implements contactgraph.Store.
func (s *Store) ContactPhoto(ctx context.Context, mb contactgraph.Mailbox, id string, withData bool) (*contactgraph.Photo, error) {
	var p *contactgraph.Photo
	err := s.read(ctx, func(tx *conn) error {
		if _, err := s.contact(ctx, tx, mb, id); err != nil {
			return err
		}
		var err error
		if p, err = s.photo(ctx, tx, mb, id, withData); err != nil {
			return err
		}
		if p == nil {
			return noPhoto()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// photoToChange starts a change of a contact's photo: the revision, the
// contact and its current photo (nil for none), with If-Match checked
// against the contact's version or the photo's media etag.
func (s *Store) photoToChange(ctx context.Context, tx *conn, mb contactgraph.Mailbox, id, ifMatch string) (int64, *contactgraph.Contact, *contactgraph.Photo, error) {
	rev, old, err := s.contactToChange(ctx, tx, mb, id, "")
	if err != nil {
		return 0, nil, nil, err
	}
	cur, err := s.photo(ctx, tx, mb, id, false)
	if err != nil {
		return 0, nil, nil, err
	}
	if err := checkMatch(old, ifMatch); err != nil && !(cur != nil && matchesTag(ifMatch, cur.MediaETag)) {
		return 0, nil, nil, err
	}
	return rev, old, cur, nil
}

// matchesTag reports whether an If-Match list holds tag, weak or strong.
func matchesTag(ifMatch, tag string) bool {
	for t := range strings.SplitSeq(ifMatch, ",") {
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == tag {
			return true
		}
	}
	return false
}

// SetContactPhoto implements contactgraph.Store. The photo is checked
// (and its digest taken) before the write transaction; its errors are
// answered only once the contact is known to exist and If-Match to hold.
func (s *Store) SetContactPhoto(ctx context.Context, mb contactgraph.Mailbox, id, contentType string, data []byte, ifMatch string) (*contactgraph.Contact, error) {
	p, invalid := contactgraph.ParsePhoto(contentType, data)
	var c *contactgraph.Contact
	err := s.write(ctx, func(tx *conn) error {
		rev, old, _, err := s.photoToChange(ctx, tx, mb, id, ifMatch)
		if err != nil {
			return err
		}
		if invalid != nil {
			return invalid
		}
		if err := s.putPhoto(ctx, tx, mb, id, &p); err != nil {
			return err
		}
		c, err = s.touchContact(ctx, tx, rev, old)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// putPhoto sets or replaces the photo of a contact of the mailbox.
func (s *Store) putPhoto(ctx context.Context, tx *conn, mb contactgraph.Mailbox, id string, p *contactgraph.Photo) error {
	if _, err := s.exec(ctx, tx, `INSERT INTO contact_photos (contact_id, tenant_id, user_id, content_type, width, height, size, media_etag, data)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (contact_id) DO UPDATE SET content_type = excluded.content_type, width = excluded.width, height = excluded.height,
	size = excluded.size, media_etag = excluded.media_etag, data = excluded.data`,
		id, mb.TenantID, mb.UserID, p.ContentType, p.Width, p.Height, p.Size, p.MediaETag, p.Data); err != nil {
		return fmt.Errorf("set photo: %w", err)
	}
	return nil
}

// dropPhoto removes the photo of a contact, if it has one.
func (s *Store) dropPhoto(ctx context.Context, tx *conn, id string) error {
	if _, err := s.exec(ctx, tx, `DELETE FROM contact_photos WHERE contact_id = ?`, id); err != nil {
		return fmt.Errorf("delete photo: %w", err)
	}
	return nil
}

// photosOf adds to out the photos, with their bytes, of contacts of the
// mailbox.
func (s *Store) photosOf(ctx context.Context, tx *conn, mb contactgraph.Mailbox, ids []string, out map[string]*contactgraph.ContactParts) error {
	rows, err := s.query(ctx, tx, `SELECT contact_id, content_type, width, height, size, media_etag, data FROM contact_photos
WHERE tenant_id = ? AND user_id = ? AND contact_id`+inList(len(ids)), append([]any{mb.TenantID, mb.UserID}, anys(ids)...)...)
	if err != nil {
		return fmt.Errorf("read photos: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		p := &contactgraph.Photo{}
		if err := rows.Scan(&id, &p.ContentType, &p.Width, &p.Height, &p.Size, &p.MediaETag, &p.Data); err != nil {
			return fmt.Errorf("read photos: %w", err)
		}
		partsOf(out, id).Photo = p
	}
	return rows.Err()
}

// DeleteContactPhoto implements contactgraph.Store.
func (s *Store) DeleteContactPhoto(ctx context.Context, mb contactgraph.Mailbox, id, ifMatch string) (*contactgraph.Contact, error) {
	var c *contactgraph.Contact
	err := s.write(ctx, func(tx *conn) error {
		rev, old, cur, err := s.photoToChange(ctx, tx, mb, id, ifMatch)
		if err != nil {
			return err
		}
		if cur == nil {
			return noPhoto()
		}
		if err := s.dropPhoto(ctx, tx, id); err != nil {
			return err
		}
		c, err = s.touchContact(ctx, tx, rev, old)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}
