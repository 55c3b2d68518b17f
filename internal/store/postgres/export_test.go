package postgres

import "context"

// SetBeforeConnect makes l run f before each connection attempt; an error
// of f fails the attempt. Tests use it to hold a reconnection.
func (l *Listener) SetBeforeConnect(f func(ctx context.Context) error) { l.beforeConnect = f }
