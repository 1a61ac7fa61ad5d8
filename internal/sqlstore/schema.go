package sqlstore

// Schema is the portable schema shared by the SQLite and PostgreSQL stores,
// as an ordered list of migrations. Each store applies them in order and
// records the applied version. Columns use only types both engines share:
// TEXT, BIGINT/INTEGER; times are Unix milliseconds; flags are 0/1.
//
// Change tracking. Every mailbox owns a revision counter (users.rev), every
// tenant one for its org contacts (tenants.rev). A write increments the
// counter in the same transaction as the data, taking the counter row's lock
// until commit, so that on PostgreSQL the revisions of one owner commit in
// increasing order (a per-scope counter row locked to commit) and on SQLite
// the single writer gives the same guarantee.
//
// The changes table is the log. Each write appends a row (collection
// "scope", object, revision) and marks the object's previous row in that
// collection superseded. Scopes: a folder id for the contacts and child
// folders of a folder, "<tenant>:<user>" for every folder of a mailbox,
// "org:<tenant>" for a tenant's org contacts. A delta round reads the rows of
// its revision range, superseded ones included, and answers with each
// object's current state relative to the collection (present, or removed):
// an object changed again while a client pages is still delivered in that
// round, at its newer state. Superseded rows are kept as long as a round may
// last (older nextLinks are refused); the latest row of a removed object is
// its tombstone (removed = 1; 2 marks a soft-deleted org contact), kept for
// the retention period. floors records, per collection, the highest revision
// whose tombstones were pruned: a position below it can no longer be answered.
//
// The indexes only pruning needs are partial: a new live row enters
// neither, so a write touches fewer pages.
//
// What a contact holds beside its document lives in tables of its own,
// keyed by the contact's id and carrying its mailbox (tenant_id, user_id)
// for scoping and for deleting with the mailbox: contact_photos (the bytes
// and what their header says), contact_extensions (open extensions) and
// contact_ext_props (extended properties). Photo bytes are BYTEA:
// PostgreSQL's byte string; SQLite takes any type name and keeps a blob as
// it is.
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
	scope      TEXT NOT NULL,
	kind       INTEGER NOT NULL,
	rev        BIGINT NOT NULL,
	object_id  TEXT NOT NULL,
	removed    INTEGER NOT NULL,
	at         BIGINT NOT NULL,
	superseded BIGINT,
	PRIMARY KEY (scope, kind, rev, object_id)
);
CREATE INDEX changes_object ON changes (scope, kind, object_id);
CREATE INDEX changes_tombstones ON changes (at) WHERE removed <> 0 AND superseded IS NULL;
CREATE INDEX changes_superseded ON changes (superseded) WHERE superseded IS NOT NULL;
CREATE TABLE floors (
	scope TEXT NOT NULL,
	kind  INTEGER NOT NULL,
	rev   BIGINT NOT NULL,
	PRIMARY KEY (scope, kind)
);
`,
	// 2: org contacts, with a revision counter per tenant.
	`
CREATE TABLE tenants (
	id  TEXT PRIMARY KEY,
	rev BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE org_contacts (
	id         TEXT PRIMARY KEY,
	tenant_id  TEXT NOT NULL,
	props      TEXT NOT NULL,
	prop_revs  TEXT NOT NULL,
	rev        BIGINT NOT NULL,
	created    BIGINT NOT NULL,
	deleted_at BIGINT
);
CREATE INDEX org_contacts_tenant ON org_contacts (tenant_id, id);
CREATE INDEX org_contacts_deleted ON org_contacts (deleted_at);
`,
	// 3: a mailbox's base revision. A mailbox created after another of the
	// same user was deleted starts above every revision the old one handed
	// out (taken from the tenant's counter), and positions below its base
	// are refused, so an old delta token can never be answered by new data.
	`
ALTER TABLE users ADD COLUMN base BIGINT NOT NULL DEFAULT 0;
`,
	// 4: change-notification subscriptions and their outbox. A
	// subscription watches one change-log collection (scope, kind); the
	// outbox holds one row per notification to deliver, written in the
	// transaction of the change, leased by a sender while it posts it.
	`
CREATE TABLE subscriptions (
	id        TEXT PRIMARY KEY,
	tenant_id TEXT NOT NULL,
	app_id    TEXT NOT NULL,
	user_id   TEXT NOT NULL,
	owner_id  TEXT NOT NULL,
	scope     TEXT NOT NULL,
	kind      INTEGER NOT NULL,
	changes   INTEGER NOT NULL,
	expires   BIGINT NOT NULL,
	doc       TEXT NOT NULL
);
CREATE INDEX subscriptions_watch ON subscriptions (scope, kind);
CREATE INDEX subscriptions_owner ON subscriptions (tenant_id, owner_id);
CREATE INDEX subscriptions_app ON subscriptions (tenant_id, app_id, id);
CREATE INDEX subscriptions_expires ON subscriptions (expires);
CREATE TABLE outbox (
	sub_id      TEXT NOT NULL,
	rev         BIGINT NOT NULL,
	object_id   TEXT NOT NULL,
	kind        INTEGER NOT NULL,
	change      INTEGER NOT NULL,
	lifecycle   TEXT NOT NULL,
	at          BIGINT NOT NULL,
	due         BIGINT NOT NULL,
	attempts    INTEGER NOT NULL,
	lease_owner TEXT NOT NULL,
	lease_until BIGINT NOT NULL,
	PRIMARY KEY (sub_id, rev, object_id)
);
CREATE INDEX outbox_due ON outbox (due);
`,
	// 5: reauthorization. token_expires copies the subscription's
	// TokenExpires (Unix ms; 0 when it has none), for the sweep that asks
	// for reauthorization and for holding the change notifications of an
	// expired token; reauth_at is when the last reauthorizationRequired
	// was recorded, 0 after a renewal. Rows from before this migration
	// keep 0 until their next renewal: no reauthorization notices and
	// nothing held, as before.
	`
ALTER TABLE subscriptions ADD COLUMN token_expires BIGINT NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN reauth_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX subscriptions_token ON subscriptions (token_expires) WHERE token_expires <> 0;
`,
	// 6: a contact's photo, open extensions and extended properties.
	// contact_ext_props has one row per property: prop_key is the
	// canonical id (contactgraph.ExtendedPropertyKey), prop_id the id as
	// the client wrote it; value is the value (a JSON array of strings for
	// a multi-value property) and value_key, for single values,
	// contactgraph.ExtendedValueKey(value), so that $filter's
	// ep/id eq … and ep/value eq … is one index range per mailbox.
	`
CREATE TABLE contact_photos (
	contact_id   TEXT PRIMARY KEY,
	tenant_id    TEXT NOT NULL,
	user_id      TEXT NOT NULL,
	content_type TEXT NOT NULL,
	width        INTEGER NOT NULL,
	height       INTEGER NOT NULL,
	size         BIGINT NOT NULL,
	media_etag   TEXT NOT NULL,
	data         BYTEA NOT NULL
);
CREATE INDEX contact_photos_mailbox ON contact_photos (tenant_id, user_id);
CREATE TABLE contact_extensions (
	contact_id TEXT NOT NULL,
	name_key   TEXT NOT NULL,
	tenant_id  TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	name       TEXT NOT NULL,
	data       TEXT NOT NULL,
	PRIMARY KEY (contact_id, name_key)
);
CREATE INDEX contact_extensions_mailbox ON contact_extensions (tenant_id, user_id);
CREATE TABLE contact_ext_props (
	contact_id TEXT NOT NULL,
	prop_key   TEXT NOT NULL,
	tenant_id  TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	prop_id    TEXT NOT NULL,
	multi      INTEGER NOT NULL,
	value      TEXT NOT NULL,
	value_key  TEXT NOT NULL,
	PRIMARY KEY (contact_id, prop_key)
);
CREATE INDEX contact_ext_props_value ON contact_ext_props (tenant_id, user_id, prop_key, value_key, contact_id);
`,
	// 7: the email index of $filter=emailAddresses/any(a:a/address eq '…'):
	// one row per distinct case-folded address of a contact, with its
	// folder, kept in the contact's write transactions (see emails.go).
	// The engine's part of this version (EngineSchema) fills it from the
	// contacts already stored.
	`
CREATE TABLE contact_emails (
	folder_id  TEXT NOT NULL,
	address    TEXT NOT NULL,
	contact_id TEXT NOT NULL,
	PRIMARY KEY (folder_id, address, contact_id)
);
`,
	// 8: the names CardDAV clients give the cards they create (see
	// contactgraph.CardStore). A row outlives its contact until the
	// contact's tombstone in the folder is pruned, so a sync-collection
	// reports a removal under the name the client knows; the primary key
	// makes two concurrent creates of one name one contact. Names the
	// first CardDAV increment kept in an extended property are copied.
	`
CREATE TABLE card_names (
	folder_id  TEXT NOT NULL,
	name       TEXT NOT NULL,
	contact_id TEXT NOT NULL,
	tenant_id  TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	PRIMARY KEY (folder_id, name)
);
CREATE UNIQUE INDEX card_names_contact ON card_names (contact_id);
CREATE INDEX card_names_mailbox ON card_names (tenant_id, user_id);
INSERT INTO card_names (folder_id, name, contact_id, tenant_id, user_id)
SELECT c.folder_id, p.value, p.contact_id, p.tenant_id, p.user_id
FROM contact_ext_props p JOIN contacts c ON c.id = p.contact_id
WHERE p.prop_key = 'String {00020329-0000-0000-c000-000000000046} Name contactgraph.carddav.href' AND p.multi = 0
ON CONFLICT DO NOTHING;
`,
	// 9: the counters of --throttle graph, shared by the replicas of a
	// PostgreSQL database (postgres/throttle.go); a SQLite server counts in
	// its process and leaves them empty. Times are Unix milliseconds.
	// throttle_slots: concurrency slots, held by holder until lease_until
	// (0: free). throttle_windows: a fixed window's count until reset; ok
	// says whether the last addition was made. throttle_buckets: a token
	// bucket's level at time at, with its capacity and refill rate (tokens
	// per millisecond) for the sweep; ok as for windows. /*UNLOGGED*/
	// makes PostgreSQL's tables unlogged (postgres/migrate.go): counters
	// may be lost in a crash, and then need no WAL.
	`
CREATE /*UNLOGGED*/ TABLE throttle_slots (
	name        TEXT NOT NULL,
	slot        INTEGER NOT NULL,
	holder      TEXT NOT NULL,
	lease_until BIGINT NOT NULL,
	PRIMARY KEY (name, slot)
);
CREATE /*UNLOGGED*/ TABLE throttle_windows (
	name  TEXT PRIMARY KEY,
	reset BIGINT NOT NULL,
	used  BIGINT NOT NULL,
	ok    INTEGER NOT NULL
);
CREATE /*UNLOGGED*/ TABLE throttle_buckets (
	name     TEXT PRIMARY KEY,
	level    DOUBLE PRECISION NOT NULL,
	at       BIGINT NOT NULL,
	capacity BIGINT NOT NULL,
	rate     DOUBLE PRECISION NOT NULL,
	ok       INTEGER NOT NULL
);
`,
	// 10: the names CardDAV clients gave the address books they made with
	// MKCOL (see contactgraph.CardStore): the URL segment of a book, by
	// mailbox, and its folder. A row goes with its folder.
	`
CREATE TABLE book_names (
	tenant_id TEXT NOT NULL,
	user_id   TEXT NOT NULL,
	name      TEXT NOT NULL,
	folder_id TEXT NOT NULL,
	PRIMARY KEY (tenant_id, user_id, name)
);
CREATE UNIQUE INDEX book_names_folder ON book_names (folder_id);
`,
	// 11: PostgreSQL's one-statement create of a plain contact
	// (EngineSchema; nothing on SQLite). See CreateContactCall.
	``,
}

// CreateFunctionMigration is the version that creates PostgreSQL's
// contactgraph_create_contact.
const CreateFunctionMigration = 11

// BookNamesMigration is the version that creates book_names.
const BookNamesMigration = 10

// CardNamesMigration is the version that creates card_names.
const CardNamesMigration = 8

// EmailIndexMigration is the version that creates and fills contact_emails.
const EmailIndexMigration = 7

// Engines a store runs on, for EngineSchema.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// EngineSchema holds, by migration version, the statements of that
// version that differ between the engines (JSON functions): a store runs
// Schema[v-1] and then EngineSchema[v][engine], in the same transaction.
// Migration(v, engine) joins them.
var EngineSchema = map[int]map[string]string{
	// 11: a plain contact's create as one function, so that it is one
	// statement and one round trip: the write transaction of createContact
	// (revision, folder check, contact, email index, change log, outbox
	// and the wake-up of the senders), statement by statement in the same
	// order. A VOLATILE PL/pgSQL function takes a new snapshot for each
	// statement under READ COMMITTED, so every statement after the
	// counter's UPDATE sees every write of the mailbox committed before it
	// got the row's lock, as in the transaction (postgres/doc.go). A
	// folder that is gone hands its revision back before the function
	// returns (the lock is held throughout, so nobody saw it): o_rev is
	// -1 then, and 0 when the mailbox does not exist.
	CreateFunctionMigration: {
		Postgres: `
CREATE FUNCTION contactgraph_create_contact(
	p_tenant TEXT, p_user TEXT, p_folder TEXT, p_id TEXT, p_change_key TEXT,
	p_created BIGINT, p_modified BIGINT, p_auto_name INTEGER, p_doc TEXT,
	p_emails TEXT[], p_kind INTEGER, p_change INTEGER, p_now BIGINT,
	p_channel TEXT, p_payload TEXT,
	OUT o_rev BIGINT, OUT o_queued BOOLEAN)
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
	n BIGINT;
BEGIN
	o_queued := false;
	UPDATE users SET rev = rev + 1 WHERE tenant_id = p_tenant AND id = p_user RETURNING rev INTO o_rev;
	IF NOT FOUND THEN
		o_rev := 0;
		RETURN;
	END IF;
	PERFORM 1 FROM folders WHERE id = p_folder AND tenant_id = p_tenant AND user_id = p_user;
	IF NOT FOUND THEN
		UPDATE users SET rev = rev - 1 WHERE tenant_id = p_tenant AND id = p_user;
		o_rev := -1;
		RETURN;
	END IF;
	INSERT INTO contacts (id, tenant_id, user_id, folder_id, change_key, created, modified, rev, auto_name, doc)
	VALUES (p_id, p_tenant, p_user, p_folder, p_change_key, p_created, p_modified, o_rev, p_auto_name, p_doc);
	INSERT INTO contact_emails (folder_id, address, contact_id)
	SELECT p_folder, a, p_id FROM unnest(p_emails) AS a;
	INSERT INTO changes (scope, kind, rev, object_id, removed, at) VALUES (p_folder, p_kind, o_rev, p_id, 0, p_now);
	INSERT INTO outbox (sub_id, rev, object_id, kind, change, lifecycle, at, due, attempts, lease_owner, lease_until)
	SELECT id, o_rev, p_id, p_kind, p_change, '', p_now, p_now, 0, '', 0
	FROM subscriptions WHERE scope = p_folder AND kind = p_kind AND (changes & p_change) <> 0 AND expires > p_now;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		o_queued := true;
		IF p_channel <> '' THEN
			PERFORM pg_notify(p_channel, p_payload);
		END IF;
	END IF;
END
$fn$;
`,
	},
	// 7: index the addresses of existing contacts. lower() folds ASCII
	// letters only on both engines (under "C" on PostgreSQL), as
	// contactgraph.FoldCase does.
	EmailIndexMigration: {
		SQLite: `
INSERT OR IGNORE INTO contact_emails (folder_id, address, contact_id)
SELECT c.folder_id, lower(json_extract(e.value, '$.address')), c.id
FROM contacts c, json_each(c.doc, '$.emailAddresses') e
WHERE json_extract(e.value, '$.address') <> '';
`,
		Postgres: `
INSERT INTO contact_emails (folder_id, address, contact_id)
SELECT c.folder_id, lower((e.value ->> 'address') COLLATE "C"), c.id
FROM contacts c, json_array_elements(CASE WHEN json_typeof(c.doc::json -> 'emailAddresses') = 'array' THEN c.doc::json -> 'emailAddresses' END) e
WHERE e.value ->> 'address' <> ''
ON CONFLICT DO NOTHING;
`,
	},
}

// Migration returns the statements of migration version v (1-based) for
// engine: the portable part and the engine's own.
func Migration(v int, engine string) string {
	return Schema[v-1] + EngineSchema[v][engine]
}
