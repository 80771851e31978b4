package deliver

import "errors"

// permanentError marks an error that a retry cannot fix.
type permanentError struct {
	err error
}

func (e *permanentError) Error() string { return e.err.Error() }

func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as one that retrying the delivery cannot fix, such as
// a host key mismatch, a failed authentication, a permission denied by the
// server or an invalid configuration. The message and the chain of err are
// kept, so errors.Is and errors.As still find what err wraps. Permanent(nil)
// returns nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or any error it wraps, was marked by
// Permanent. A false result means the delivery may succeed when retried.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
