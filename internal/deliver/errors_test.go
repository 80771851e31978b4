package deliver_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/axtract/axtract/internal/deliver"
)

func TestIsPermanent(t *testing.T) {
	t.Parallel()
	permanent := deliver.Permanent(errors.New("host key mismatch"))
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", io.EOF, false},
		{"context", context.DeadlineExceeded, false},
		{"marked", permanent, true},
		{"wrapped", fmt.Errorf("deliver feed 7: %w", permanent), true},
		{"joined", errors.Join(io.EOF, permanent), true},
	}
	for _, tt := range tests {
		if got := deliver.IsPermanent(tt.err); got != tt.want {
			t.Errorf("IsPermanent(%s: %v) = %t, want %t", tt.name, tt.err, got, tt.want)
		}
	}
}

func TestPermanentKeepsChain(t *testing.T) {
	t.Parallel()
	err := deliver.Permanent(fmt.Errorf("read key: %w", io.ErrUnexpectedEOF))

	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("errors.Is(%v, io.ErrUnexpectedEOF) = false, want true", err)
	}
	if err.Error() != "read key: unexpected EOF" {
		t.Errorf("Error() = %q, want the wrapped message unchanged", err.Error())
	}
	if deliver.Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
}
