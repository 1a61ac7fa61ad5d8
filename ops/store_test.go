package ops_test

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/ops"
	"github.com/contactgraph/contactgraph/sqlite"
)

// TestStoreWrapsEveryMethod: the decorator declares a wrapper for every
// method of contactgraph.Store. It embeds the Store, so a method added to
// the interface compiles without one and would go untimed: this test
// says so.
func TestStoreWrapsEveryMethod(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "store.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv == nil {
			continue
		}
		if star, ok := fn.Recv.List[0].Type.(*ast.StarExpr); ok && star.X.(*ast.Ident).Name == "Store" {
			declared[fn.Name.Name] = true
		}
	}
	st := reflect.TypeFor[contactgraph.Store]()
	for i := range st.NumMethod() {
		if m := st.Method(i).Name; !declared[m] {
			t.Errorf("ops.Store has no wrapper for %s: add one to store.go", m)
		}
	}
}

// TestStorePassesThrough: results and errors come back as the store gave
// them, each call is timed under its result, and Unwrap reaches the store.
func TestStorePassesThrough(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "cg.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := ops.NewMetrics()
	st := m.InstrumentStore(db)
	if ops.Unwrap(st) != contactgraph.Store(db) || ops.Unwrap(db) != contactgraph.Store(db) {
		t.Fatal("Unwrap does not reach the store")
	}
	tid := contactgraph.TenantID("contoso")
	mb, err := st.EnsureMailbox(ctx, tid, contactgraph.UserID(tid, "ada@contoso.com"), "ada@contoso.com")
	if err != nil || mb.RootID == "" {
		t.Fatalf("EnsureMailbox: %+v, %v", mb, err)
	}
	if _, err := st.Folder(ctx, mb, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); !errors.Is(err, contactgraph.ErrNotFound) {
		t.Fatalf("Folder of nothing: %v, want ErrNotFound", err)
	}
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := st.ListFolders(ended, mb, "", contactgraph.Page{Limit: 1}); !errors.Is(err, context.Canceled) {
		t.Fatalf("ListFolders with an ended context: %v", err)
	}
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	s, _ := scrapeURL(t, srv.URL)
	for _, w := range [][]string{
		{"operation", "EnsureMailbox", "result", "ok"},
		{"operation", "Folder", "result", "not_found"},
		{"operation", "ListFolders", "result", "canceled"},
	} {
		if v := s.value("contactgraph_store_operation_duration_seconds", w...); v != 1 {
			t.Errorf("%v: %v calls timed, want 1", w, v)
		}
	}
}
