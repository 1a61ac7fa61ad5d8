package postgres

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestIsUniqueViolation checks that duplicates are told by SQLSTATE, through
// wrapping, and never by message text.
func TestIsUniqueViolation(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"unique violation", &pgconn.PgError{Code: "23505"}, true},
		{"wrapped", fmt.Errorf("create user: %w", &pgconn.PgError{Code: "23505"}), true},
		{"foreign key violation", &pgconn.PgError{Code: "23503", Message: "duplicate key value violates unique constraint"}, false},
		{"message text only", errors.New(`ERROR: duplicate key value violates unique constraint "users_pkey" (SQLSTATE 23505)`), false},
		{"nil", nil, false},
	} {
		if got := (dialect{}).IsUniqueViolation(tt.err); got != tt.want {
			t.Errorf("%s: IsUniqueViolation = %v, want %v", tt.name, got, tt.want)
		}
	}
}
