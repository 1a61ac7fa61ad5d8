package sqlstore

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/contactgraph/contactgraph"
)

// The filter compiler turns a contactgraph.Expr into a SQL condition with
// '?' placeholders. Client text (literals) only ever becomes arguments; the
// SQL text is made of this file's constants, the Dialect's fragments and
// names from the property schemas.
//
// Every condition it emits is two-valued (never NULL), so that NOT negates
// exactly: a comparison is COALESCE(x op ?, FALSE) (TRUE for ne), and
// "eq null" is IS NULL. Strings that ignore case compare Fold(x) with the
// literal folded by contactgraph.FoldCase; order comparisons and sort keys
// go through Collate. Date-times are stored as contactgraph.FormatDateTime
// text (UTC, whole seconds) and compare as text; a literal with a fraction
// of a second is rounded to the comparison that means the same on whole
// seconds.

// listTable is how a list's objects are stored.
type listTable struct {
	name    string // the table, also the qualifier of its columns
	doc     string // the JSON column of the object's properties, qualified
	id      string // the id column, qualified
	schema  *contactgraph.Schema
	columns map[string]column    // properties held in a column of their own
	sides   map[string]sideTable // collection properties indexed in a side table
}

// column is a property held in a column. folded: the values are stored
// case-folded, so a case-insensitive comparison folds only the literal and
// an index on the column serves it. notNull: the column is NOT NULL, so a
// comparison needs no COALESCE (which would hide it from the index).
type column struct {
	expr    string
	folded  bool
	notNull bool
}

// sideTable indexes the members of a collection property in a table of
// their own, maintained in the write transactions: an Any over it is
// "id IN (SELECT key FROM table WHERE scope AND cond)", which reads the
// table's index instead of every object of the list.
//
// Each side table says its own scope: the condition restricting it to what
// the list may see, and the arguments it takes from the list's listScope.
// contact_emails is kept per folder, so its scope is the list's folder;
// contact_ext_props is kept per mailbox, so its scope is the mailbox, and
// the outer query's own scope (the folder) keeps out the mailbox's other
// folders' contacts.
//
// A keyed side table (see contactgraph.Property.Keyed) answers only the
// lambda "v/id eq '…' and v/value eq '…'": the fields "id" and "value" are
// the key columns, compared with the keys contactgraph.ParseExtendedFilter
// makes of the literals, never with the literals themselves.
type sideTable struct {
	table     string
	key       string                // the column holding the object's id
	scope     string                // condition on the table restricting it to the list, one '?' per scope argument
	scopeArgs func(listScope) []any // the arguments of scope
	fields    map[string]column     // the member fields the condition may test ("" for the member itself)
	keyed     bool                  // fields "id" and "value" hold ParseExtendedFilter's Key and ValueKey
}

// listScope is what one list query is restricted to: the mailbox and,
// for contacts, the folder. Side tables take their scope's arguments
// from it.
type listScope struct {
	mb       contactgraph.Mailbox
	folderID string
}

// The lists. Contacts are scoped by folder (the contact_emails index is
// too; contact_ext_props is scoped by mailbox); org contacts by tenant,
// live ones only.
var (
	contactsTable = &listTable{
		name: "contacts", doc: "contacts.doc", id: "contacts.id", schema: contactgraph.ContactSchema,
		columns: map[string]column{"id": {expr: "contacts.id", notNull: true}},
		sides: map[string]sideTable{
			"emailAddresses": {table: "contact_emails", key: "contact_id", scope: "folder_id = ?",
				scopeArgs: func(l listScope) []any { return []any{l.folderID} },
				fields:    map[string]column{"address": {expr: "address", folded: true, notNull: true}}},
			// One range of the index contact_ext_props_value (tenant_id,
			// user_id, prop_key, value_key, contact_id).
			"singleValueExtendedProperties": {table: "contact_ext_props", key: "contact_id", scope: "tenant_id = ? AND user_id = ?",
				scopeArgs: func(l listScope) []any { return []any{l.mb.TenantID, l.mb.UserID} },
				fields:    map[string]column{"id": {expr: "prop_key", notNull: true}, "value": {expr: "value_key", notNull: true}},
				keyed:     true},
		},
	}
	orgTable = &listTable{
		name: "org_contacts", doc: "org_contacts.props", id: "org_contacts.id", schema: contactgraph.OrgContactSchema,
		columns: map[string]column{"id": {expr: "org_contacts.id", folded: true, notNull: true}}, // GUIDs, stored in lower case
	}
)

// compiler builds one SQL text and its arguments, left to right.
type compiler struct {
	d    Dialect
	t    *listTable
	list listScope // what the list is restricted to, for side tables' scopes
	b    strings.Builder
	args []any
	n    int // subquery aliases used
}

// frag is a piece of SQL and the arguments of its placeholders.
type frag struct {
	sql  string
	args []any
}

func (c *compiler) write(sql string, args ...any) {
	c.b.WriteString(sql)
	c.args = append(c.args, args...)
}

func (c *compiler) writeFrag(f frag) { c.write(f.sql, f.args...) }

// unsupportedNode is the error for a tree the store cannot compile: the
// parser should have refused it.
func unsupportedNode(format string, args ...any) error {
	return contactgraph.Errorf(contactgraph.EInvalidFilter, "The query filter contains one or more invalid nodes: "+format, args...)
}

// lambdaScope is what the paths of an Any's condition name.
type lambdaScope struct {
	name   string
	fields map[string]column // the side table's columns; nil over a JSON array
	value  string            // over a JSON array: the member's text
	member func(field string) (contactgraph.Member, bool)
}

// target is a resolved path: its SQL and how to compare it.
type target struct {
	expr          frag
	kind          contactgraph.Kind
	caseSensitive bool
	folded        bool
	notNull       bool
}

func (c *compiler) resolve(p contactgraph.Path, lam *lambdaScope) (target, error) {
	if p.Var != "" {
		if lam == nil || p.Var != lam.name {
			return target{}, unsupportedNode("the variable '%s' is not in scope", p.Var)
		}
		m, ok := lam.member(p.Prop)
		if !ok {
			return target{}, unsupportedNode("the member field '%s' cannot be tested", p.Prop)
		}
		tg := target{kind: m.Kind, caseSensitive: m.CaseSensitive}
		if lam.fields != nil {
			col, ok := lam.fields[p.Prop]
			if !ok {
				return target{}, unsupportedNode("the member field '%s' is not indexed", p.Prop)
			}
			tg.expr, tg.folded, tg.notNull = frag{sql: col.expr}, col.folded, col.notNull
			return tg, nil
		}
		if p.Prop != "" {
			return target{}, unsupportedNode("fields of JSON members cannot be tested")
		}
		tg.expr = frag{sql: lam.value}
		return tg, nil
	}
	if lam != nil {
		return target{}, unsupportedNode("a lambda tests only its variable")
	}
	prop, ok := c.t.schema.Lookup(p.Prop)
	if !ok || prop.Filter == 0 {
		return target{}, unsupportedNode("the property '%s' cannot be filtered on", p.Prop)
	}
	return c.property(prop)
}

// property is the SQL of a simple property of the list's objects.
func (c *compiler) property(prop contactgraph.Property) (target, error) {
	tg := target{kind: prop.Kind, caseSensitive: prop.CaseSensitive}
	if col, ok := c.t.columns[prop.Name]; ok {
		tg.expr, tg.folded, tg.notNull = frag{sql: col.expr}, col.folded, col.notNull
		return tg, nil
	}
	if !safeName(prop.Name) {
		return target{}, fmt.Errorf("sqlstore: property name %q", prop.Name)
	}
	var sql string
	var args []any
	switch prop.Kind {
	case contactgraph.KString, contactgraph.KDateTime:
		sql, args = c.d.JSONText(c.t.doc, prop.Name)
	case contactgraph.KBool:
		sql, args = c.d.JSONBool(c.t.doc, prop.Name)
	default:
		return target{}, unsupportedNode("the property '%s' cannot be compared", prop.Name)
	}
	tg.expr = frag{sql, args}
	return tg, nil
}

// safeName reports whether a schema name is letters and digits only, as
// every name in the schemas is (they reach SQL text through the Dialect).
func safeName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// cmp returns the SQL that tg is compared as, and converts a string
// literal the same way: folded unless the target respects case.
func (c *compiler) cmp(tg target, order bool) (frag, func(string) string) {
	expr, lit := tg.expr, func(s string) string { return s }
	if tg.kind == contactgraph.KString && !tg.caseSensitive {
		lit = contactgraph.FoldCase
		if !tg.folded {
			expr.sql = c.d.Fold(expr.sql)
		}
	}
	if order {
		expr.sql = c.d.Collate(expr.sql)
	}
	return expr, lit
}

var sqlOps = map[contactgraph.Op]string{contactgraph.Eq: "=", contactgraph.Ne: "<>", contactgraph.Gt: ">",
	contactgraph.Ge: ">=", contactgraph.Lt: "<", contactgraph.Le: "<="}

// cond compiles e (lam: the Any being compiled, nil outside one).
func (c *compiler) cond(e contactgraph.Expr, lam *lambdaScope) error {
	switch n := e.(type) {
	case contactgraph.And:
		return c.binary(n.X, "AND", n.Y, lam)
	case contactgraph.Or:
		return c.binary(n.X, "OR", n.Y, lam)
	case contactgraph.Not:
		c.write("(NOT ")
		if err := c.cond(n.X, lam); err != nil {
			return err
		}
		c.write(")")
		return nil
	case contactgraph.Compare:
		return c.compare(n, lam)
	case contactgraph.In:
		return c.in(n, lam)
	case contactgraph.StartsWith:
		return c.prefix(n.Path, n.Prefix, false, lam)
	case contactgraph.HasWord:
		return c.prefix(n.Path, n.Prefix, true, lam)
	case contactgraph.Any:
		return c.any(n, lam)
	case nil:
		return unsupportedNode("an empty condition")
	}
	return unsupportedNode("a node of type %T", e)
}

func (c *compiler) binary(x contactgraph.Expr, op string, y contactgraph.Expr, lam *lambdaScope) error {
	c.write("(")
	if err := c.cond(x, lam); err != nil {
		return err
	}
	c.write(" " + op + " ")
	if err := c.cond(y, lam); err != nil {
		return err
	}
	c.write(")")
	return nil
}

func (c *compiler) compare(n contactgraph.Compare, lam *lambdaScope) error {
	tg, err := c.resolve(n.Path, lam)
	if err != nil {
		return err
	}
	op, ok := sqlOps[n.Op]
	if !ok {
		return unsupportedNode("the operator %s", n.Op)
	}
	if n.Value.Kind == contactgraph.VNull {
		if n.Op != contactgraph.Eq && n.Op != contactgraph.Ne {
			return unsupportedNode("%s null", n.Op)
		}
		c.write("(")
		c.writeFrag(tg.expr)
		if n.Op == contactgraph.Eq {
			c.write(" IS NULL)")
		} else {
			c.write(" IS NOT NULL)")
		}
		return nil
	}
	order := n.Op != contactgraph.Eq && n.Op != contactgraph.Ne
	expr, fold := c.cmp(tg, order)
	var arg any
	switch {
	case n.Value.Kind == contactgraph.VString && tg.kind == contactgraph.KString:
		arg = fold(n.Value.Str)
	case n.Value.Kind == contactgraph.VBool && tg.kind == contactgraph.KBool:
		arg = strconv.FormatBool(n.Value.Bool)
	case n.Value.Kind == contactgraph.VDateTime && tg.kind == contactgraph.KDateTime:
		var always, never bool
		arg, op, always, never = dateOperand(n.Value.Time, n.Op)
		switch {
		case always:
			c.write("TRUE")
			return nil
		case never:
			c.write("FALSE")
			return nil
		}
	default:
		return unsupportedNode("a literal of the wrong type for '%s'", n.Path)
	}
	if tg.notNull {
		c.write("(")
		c.writeFrag(expr)
		c.write(" "+op+" ?)", arg)
		return nil
	}
	otherwise := "FALSE" // a null property fails every comparison but ne
	if n.Op == contactgraph.Ne {
		otherwise = "TRUE"
	}
	c.write("COALESCE(")
	c.writeFrag(expr)
	c.write(" "+op+" ?, "+otherwise+")", arg)
	return nil
}

// dateOperand turns a date-time comparison into one on stored values,
// which are whole seconds: the literal rounded down, and the operator that
// means the same on whole seconds; or a constant outcome for a non-null
// value (eq and ne with a fraction).
func dateOperand(t time.Time, op contactgraph.Op) (arg string, sqlOp string, always, never bool) {
	floor := t.UTC().Truncate(time.Second)
	arg, sqlOp = contactgraph.FormatDateTime(floor), sqlOps[op]
	if floor.Equal(t) {
		return arg, sqlOp, false, false
	}
	switch op {
	case contactgraph.Eq:
		return "", "", false, true
	case contactgraph.Ne:
		return "", "", true, false
	case contactgraph.Gt, contactgraph.Ge: // x >= t ⇔ x > floor(t)
		return arg, ">", false, false
	default: // x < t ⇔ x <= floor(t)
		return arg, "<=", false, false
	}
}

func (c *compiler) in(n contactgraph.In, lam *lambdaScope) error {
	tg, err := c.resolve(n.Path, lam)
	if err != nil {
		return err
	}
	expr, fold := c.cmp(tg, false)
	var args []any
	for _, v := range n.Values {
		switch {
		case v.Kind == contactgraph.VString && tg.kind == contactgraph.KString:
			args = append(args, fold(v.Str))
		case v.Kind == contactgraph.VBool && tg.kind == contactgraph.KBool:
			args = append(args, strconv.FormatBool(v.Bool))
		case v.Kind == contactgraph.VDateTime && tg.kind == contactgraph.KDateTime:
			if v.Time.Equal(v.Time.Truncate(time.Second)) { // else it equals no stored value
				args = append(args, contactgraph.FormatDateTime(v.Time))
			}
		default:
			return unsupportedNode("a literal of the wrong type for '%s'", n.Path)
		}
	}
	if len(args) == 0 {
		c.write("FALSE")
		return nil
	}
	list := " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ") + ")"
	if tg.notNull {
		c.write("(")
		c.writeFrag(expr)
		c.write(list+")", args...)
		return nil
	}
	c.write("COALESCE(")
	c.writeFrag(expr)
	c.write(list+", FALSE)", args...)
	return nil
}

// prefix compiles startswith (and, with words, HasWord: also after a space).
func (c *compiler) prefix(p contactgraph.Path, prefix string, words bool, lam *lambdaScope) error {
	tg, err := c.resolve(p, lam)
	if err != nil {
		return err
	}
	if tg.kind != contactgraph.KString {
		return unsupportedNode("startswith on '%s'", p)
	}
	expr, fold := c.cmp(tg, false)
	prefix = fold(prefix)
	if prefix == "" {
		c.write("(")
		c.writeFrag(expr)
		c.write(" IS NOT NULL)")
		return nil
	}
	c.write("COALESCE(substr(")
	c.writeFrag(expr)
	c.write(", 1, ?) = ?", utf8.RuneCountInString(prefix), prefix)
	if words {
		c.write(" OR ")
		c.write(c.d.Instr(expr.sql, "?"), expr.args...)
		c.args = append(c.args, " "+prefix)
	}
	c.write(", FALSE)")
	return nil
}

// any compiles a lambda: through the collection's side table when it has
// one, else over the JSON array of its members.
func (c *compiler) any(n contactgraph.Any, outer *lambdaScope) error {
	if outer != nil {
		return unsupportedNode("nested lambdas")
	}
	prop, ok := c.t.schema.LookupFilter(n.Prop)
	if !ok || prop.Members == nil {
		return unsupportedNode("any() over '%s'", n.Prop)
	}
	lam := &lambdaScope{name: n.Var, member: prop.Member}
	st, side := c.t.sides[n.Prop]
	if prop.Keyed != (side && st.keyed) {
		return unsupportedNode("any() over '%s' needs its keyed index", n.Prop)
	}
	if side {
		c.write(c.t.id+" IN (SELECT "+st.key+" FROM "+st.table+" WHERE "+st.scope+" AND ", st.scopeArgs(c.list)...)
		if st.keyed {
			f, err := contactgraph.ParseExtendedFilter(n)
			if err != nil {
				return err
			}
			c.write(st.fields["id"].expr+" = ? AND "+st.fields["value"].expr+" = ?)", f.Key, f.ValueKey)
			return nil
		}
		lam.fields = st.fields
		if err := c.cond(n.Cond, lam); err != nil {
			return err
		}
		c.write(")")
		return nil
	}
	if _, ok := prop.Member(""); !ok || !safeName(prop.Name) {
		return unsupportedNode("any() over '%s' needs an index", n.Prop)
	}
	c.n++
	from, args, value := c.d.JSONStrings(c.t.doc, prop.Name, "m"+strconv.Itoa(c.n))
	lam.value = value
	c.write("EXISTS (SELECT 1 FROM "+from+" WHERE ", args...)
	if err := c.cond(n.Cond, lam); err != nil {
		return err
	}
	c.write(")")
	return nil
}

// sortKey is the SQL of a $orderby key, as it is selected and compared.
func (c *compiler) sortKey(k contactgraph.SortKey) (frag, error) {
	prop, ok := c.t.schema.Lookup(k.Prop)
	if !ok || !prop.Sortable {
		return frag{}, contactgraph.Errorf(contactgraph.EUnsupported, "Sorting by '%s' is not supported.", k.Prop)
	}
	tg, err := c.property(prop)
	if err != nil {
		return frag{}, err
	}
	if tg.kind != contactgraph.KString && tg.kind != contactgraph.KDateTime {
		return frag{}, contactgraph.Errorf(contactgraph.EUnsupported, "Sorting by '%s' is not supported.", k.Prop)
	}
	expr, _ := c.cmp(tg, true)
	return expr, nil
}
