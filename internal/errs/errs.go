// Package errs defines the error kinds Coffer code uses to say what went wrong.
//
// The code that knows the cause sets the kind with E; every other layer wraps
// with fmt.Errorf("verb noun: %w", err). Each HTTP surface maps KindOf(err) to
// a status code in exactly one place. Messages of errors made with E are meant
// for clients: they must never contain secret material.
package errs

import (
	"errors"
	"fmt"
)

// Kind classifies an error. The zero value is Internal.
type Kind int

// The kinds, modelled on gRPC status codes.
const (
	Internal Kind = iota
	InvalidArgument
	NotFound
	AlreadyExists
	FailedPrecondition
	PermissionDenied
	Unauthenticated
	ResourceExhausted // a limit was reached (HTTP 409 on the control plane, as STACKIT answers)
	Unavailable
	Unimplemented
)

var kindNames = map[Kind]string{
	Internal:           "internal",
	InvalidArgument:    "invalid argument",
	NotFound:           "not found",
	AlreadyExists:      "already exists",
	FailedPrecondition: "failed precondition",
	PermissionDenied:   "permission denied",
	Unauthenticated:    "unauthenticated",
	ResourceExhausted:  "resource exhausted",
	Unavailable:        "unavailable",
	Unimplemented:      "unimplemented",
}

// String returns the kind's lower-case name.
func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is an error with a kind and a client-safe message.
type Error struct {
	Kind Kind
	Msg  string
	Err  error // optional cause; its text is not shown to clients
}

// Error returns the message, followed by the cause when there is one.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// E returns an error of kind k with a formatted message.
func E(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// Wrap returns an error of kind k with message msg whose cause is err.
// The cause's text is kept for logs, never shown to clients.
func Wrap(k Kind, err error, msg string) error {
	return &Error{Kind: k, Msg: msg, Err: err}
}

// KindOf returns the kind of the outermost *Error in err's chain, or Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Message returns the client-safe message of the outermost *Error in err's
// chain, or "" when err has none.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Msg
	}
	return ""
}

// Is reports whether err is of kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }
