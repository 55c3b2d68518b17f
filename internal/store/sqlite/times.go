package sqlite

import (
	"fmt"
	"time"
)

// timeLayout is how times are stored: TEXT in RFC 3339, always UTC and
// always with nine fractional digits, so that text order is time order and
// every time.Time round-trips exactly. The zero time.Time of an optional
// column is stored as NULL.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// formatTime returns t as stored.
func formatTime(t time.Time) string {
	return t.UTC().Format(timeLayout)
}

// nullTime returns nil (SQL NULL) for the zero time, else t as stored.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return formatTime(t)
}

// timeColumn is an sql.Scanner that parses a stored time into *t; NULL
// becomes the zero time.
type timeColumn struct{ t *time.Time }

// scanTime returns a Scan destination for a stored time.
func scanTime(t *time.Time) timeColumn { return timeColumn{t} }

// Scan implements sql.Scanner.
func (c timeColumn) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case nil:
		*c.t = time.Time{}
		return nil
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("stored time is a %T, not text", src)
	}
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return fmt.Errorf("parse stored time: %w", err)
	}
	*c.t = t.UTC()
	return nil
}
