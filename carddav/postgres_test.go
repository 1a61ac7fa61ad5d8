package carddav_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// suite is every test of the package that runs on a store, by name, for
// TestPostgres; TestSuiteComplete checks that none is missing.
var suite = map[string]func(*testing.T){
	"TestDiscovery":               TestDiscovery,
	"TestSignIn":                  TestSignIn,
	"TestSignInAfterUserDelete":   TestSignInAfterUserDelete,
	"TestCardLifecycle":           TestCardLifecycle,
	"TestBadCards":                TestBadCards,
	"TestSyncCollection":          TestSyncCollection,
	"TestAddressBookCollections":  TestAddressBookCollections,
	"TestGraphDeleteOfNamedCard":  TestGraphDeleteOfNamedCard,
	"TestConcurrentPutsOfOneName": TestConcurrentPutsOfOneName,
	"TestStableSyncToken":         TestStableSyncToken,
	"TestDirectoryBook":           TestDirectoryBook,
	"TestLitmus":                  TestLitmus,
	"TestPutNotifies":             TestPutNotifies,
	"TestAddressbookQuery":        TestAddressbookQuery,
	"TestVdirsyncer":              TestVdirsyncer,
	"TestCardPhoto":               TestCardPhoto,
}

// TestPostgres runs the package's tests again with their stores on
// PostgreSQL (CONTACTGRAPH_TEST_POSTGRES), each in a schema of its own.
func TestPostgres(t *testing.T) {
	if os.Getenv(envDSN) == "" {
		t.Skip(envDSN + " is not set: the CardDAV tests on PostgreSQL need a DSN such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	onPostgres = true
	defer func() { onPostgres = false }()
	names := make([]string, 0, len(suite))
	for n := range suite {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		t.Run(n, suite[n])
	}
}

// TestSuiteComplete checks that suite lists every Test function of the
// package but TestPostgres and itself.
func TestSuiteComplete(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Test") {
				continue
			}
			if n := fn.Name.Name; n != "TestPostgres" && n != "TestSuiteComplete" && suite[n] == nil {
				t.Errorf("%s (%s) is not in suite: TestPostgres does not run it", n, f)
			}
		}
	}
}
