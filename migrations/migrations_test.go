package migrations

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var fileName = regexp.MustCompile(`^(\d{6})_[a-z0-9_]+\.(up|down)\.sql$`)

func TestPairs(t *testing.T) {
	for name, fsys := range map[string]fs.FS{"postgres": Postgres, "sqlite": SQLite} {
		t.Run(name, func(t *testing.T) {
			entries, err := fs.ReadDir(fsys, ".")
			if err != nil {
				t.Fatalf("ReadDir() error = %v", err)
			}
			ups, downs := map[string]bool{}, map[string]bool{}
			for _, e := range entries {
				m := fileName.FindStringSubmatch(e.Name())
				if m == nil {
					t.Errorf("%s: name does not match NNNNNN_name.(up|down).sql", e.Name())
					continue
				}
				stem := strings.TrimSuffix(strings.TrimSuffix(e.Name(), ".up.sql"), ".down.sql")
				if m[2] == "up" {
					ups[stem] = true
				} else {
					downs[stem] = true
				}
			}
			if len(ups) == 0 {
				t.Fatal("no migrations")
			}
			if diff := cmp.Diff(ups, downs); diff != "" {
				t.Errorf("up and down migrations do not pair (-up +down):\n%s", diff)
			}
		})
	}
}

// TestSQLiteHasNoTransactions checks that no SQLite migration opens its own
// transaction: golang-migrate's SQLite driver already runs each in one.
func TestSQLiteHasNoTransactions(t *testing.T) {
	stmt := regexp.MustCompile(`(?im)^\s*(BEGIN|COMMIT|END)\b`)
	err := fs.WalkDir(SQLite, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(SQLite, path)
		if err != nil {
			return err
		}
		if loc := stmt.FindIndex(b); loc != nil {
			t.Errorf("%s: contains %q", path, b[loc[0]:loc[1]])
		}
		return nil
	})
	if err != nil {
		t.Fatalf("WalkDir() error = %v", err)
	}
}
