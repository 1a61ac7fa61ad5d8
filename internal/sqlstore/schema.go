package sqlstore

// Schema is the portable schema shared by the SQLite and PostgreSQL stores,
// as an ordered list of migrations. Each store applies them in order and
// records the applied version. Columns use only types both engines share:
// TEXT, BIGINT/INTEGER; times are Unix milliseconds; flags are 0/1.
//
// Change tracking. Every mailbox owns a revision counter (users.rev). A write
// increments it in the same transaction as the data, taking the counter row's
// lock until commit, so that on PostgreSQL revisions of one mailbox commit in
// increasing order (a per-scope counter row locked to commit) and on SQLite
// the single writer gives the same guarantee. The changes table keeps the
// latest change of each object per collection ("scope"): a folder id for the
// contacts and child folders of a folder, "<tenant>:<user>" for every folder
// of a mailbox. A delete or a move out of a collection leaves a tombstone
// there (removed = 1). floors records, per collection, the highest revision
// whose tombstones were pruned: a position below it can no longer be answered.
var Schema = []string{
	// 1: users, folders, contacts, change log, secrets.
	`
CREATE TABLE secrets (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
CREATE TABLE users (
	tenant_id    TEXT NOT NULL,
	id           TEXT NOT NULL,
	upn          TEXT NOT NULL,
	upn_key      TEXT NOT NULL,
	display_name TEXT NOT NULL,
	mail         TEXT NOT NULL,
	created      BIGINT NOT NULL,
	root_id      TEXT,
	rev          BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX users_upn ON users (tenant_id, upn_key);
CREATE TABLE folders (
	id           TEXT PRIMARY KEY,
	tenant_id    TEXT NOT NULL,
	user_id      TEXT NOT NULL,
	parent_id    TEXT NOT NULL,
	display_name TEXT NOT NULL,
	name_key     TEXT NOT NULL,
	rev          BIGINT NOT NULL
);
CREATE UNIQUE INDEX folders_name ON folders (tenant_id, user_id, parent_id, name_key);
CREATE INDEX folders_parent ON folders (parent_id, id);
CREATE TABLE contacts (
	id         TEXT PRIMARY KEY,
	tenant_id  TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	folder_id  TEXT NOT NULL,
	change_key TEXT NOT NULL,
	created    BIGINT NOT NULL,
	modified   BIGINT NOT NULL,
	rev        BIGINT NOT NULL,
	auto_name  INTEGER NOT NULL,
	doc        TEXT NOT NULL
);
CREATE INDEX contacts_folder ON contacts (folder_id, id);
CREATE TABLE changes (
	scope     TEXT NOT NULL,
	kind      INTEGER NOT NULL,
	object_id TEXT NOT NULL,
	rev       BIGINT NOT NULL,
	removed   INTEGER NOT NULL,
	at        BIGINT NOT NULL,
	PRIMARY KEY (scope, kind, object_id)
);
CREATE INDEX changes_rev ON changes (scope, kind, rev);
CREATE INDEX changes_tombstones ON changes (removed, at);
CREATE TABLE floors (
	scope TEXT NOT NULL,
	kind  INTEGER NOT NULL,
	rev   BIGINT NOT NULL,
	PRIMARY KEY (scope, kind)
);
`,
}
