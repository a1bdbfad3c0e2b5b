package repos_test

import (
	"os"
	"testing"

	"github.com/depot/depot/tokens/sqlite/dbtest"
)

// TestMain runs the tests on SQLite, then on PostgreSQL.
func TestMain(m *testing.M) { os.Exit(dbtest.Run(m)) }
