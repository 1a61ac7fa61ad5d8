package contactgraph

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDomainImportsNoTransport keeps the domain free of transport and
// drivers: adapters talk through its types, never the other way round.
func TestDomainImportsNoTransport(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "github.com/contactgraph/contactgraph/internal/jsonscan" {
			continue // a leaf of the standard library's JSON, no adapter (its own test keeps it so)
		}
		for _, banned := range []string{"net/http", "database/sql", "modernc.org/", "github.com/jackc/", "github.com/golang-jwt/",
			"github.com/contactgraph/contactgraph/"} {
			if dep == banned || strings.HasPrefix(dep, banned) {
				t.Errorf("the domain package depends on %s", dep)
			}
		}
	}
}
