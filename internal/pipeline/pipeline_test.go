package pipeline

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the run when any goroutine of a pipeline outlives the
// tests, which would mean Close or Abort left one behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// runPipeline writes data through a pipeline one row per Write, closes it
// and returns what reached the destination, after checking the counters
// and the digest.
func runPipeline(t *testing.T, cfg Config, data []byte) []byte {
	t.Helper()
	var dst bytes.Buffer
	p, err := New(&dst, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	writeRows(t, p, data)
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	checkCounters(t, p, len(data), dst.Bytes())
	return dst.Bytes()
}

func checkCounters(t *testing.T, p *Pipeline, inputLen int, output []byte) {
	t.Helper()
	if got := p.InputBytes(); got != int64(inputLen) {
		t.Errorf("InputBytes() = %d, want %d", got, inputLen)
	}
	if got := p.OutputBytes(); got != int64(len(output)) {
		t.Errorf("OutputBytes() = %d, want %d", got, len(output))
	}
	sum := sha256.Sum256(output)
	if got, want := p.SHA256(), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("SHA256() = %q, want %q", got, want)
	}
}

// decompress runs the command-line tool for compression on data.
func decompress(t *testing.T, compression string, data []byte) []byte {
	t.Helper()
	var cmd *exec.Cmd
	switch compression {
	case CompressionGzip:
		cmd = exec.Command("gzip", "--decompress", "--stdout")
	case CompressionZstd:
		cmd = exec.Command("zstd", "--decompress", "--stdout", "--quiet")
	default:
		return data
	}
	if _, err := exec.LookPath(cmd.Path); err != nil {
		t.Fatalf("%s not found in PATH (install the Debian package of that name): %v", cmd.Args[0], err)
	}
	cmd.Stdin = bytes.NewReader(data)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(cmd.Args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

func requireSameBytes(t *testing.T, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	offset := 0
	for offset < len(got) && offset < len(want) && got[offset] == want[offset] {
		offset++
	}
	t.Fatalf("output has %d bytes, want %d; first difference at offset %d", len(got), len(want), offset)
}

var compressions = []string{CompressionNone, CompressionGzip, CompressionZstd}

// TestPipelineRoundTrip checks every layer combination against the real
// tools: gpg decrypts, gzip and zstd decompress, and the result must equal
// the input.
func TestPipelineRoundTrip(t *testing.T) {
	t.Parallel()
	g := newGPGHome(t)
	primary, _ := eccKey(g, "Round Trip <roundtrip@example.com>")
	recipient := parseRecipient(t, g.exportPublic(primary), time.Now())
	// Several gzip blocks and stage buffers, ending in a partial one.
	data := claimCSV(1, 5*gzipBlockSize+12345)

	for _, compression := range compressions {
		for _, encrypted := range []bool{false, true} {
			cfg := Config{Compression: compression}
			if encrypted {
				cfg.Recipient = recipient
			}
			t.Run(modeName(cfg), func(t *testing.T) {
				t.Parallel()
				output := runPipeline(t, cfg, data)
				if encrypted {
					checkOpenPGPFormat(t, g, output)
					output = g.decrypt(output)
				}
				requireSameBytes(t, decompress(t, compression, output), data)
			})
		}
	}
}

func TestPipelineRoundTripRSA(t *testing.T) {
	t.Parallel()
	g := newGPGHome(t)
	primary := g.generateKey("RSA Round Trip <rsa-roundtrip@example.com>", "default", "default", "never")
	recipient := parseRecipient(t, g.exportPublic(primary), time.Now())
	data := claimCSV(2, 3*gzipBlockSize)

	for _, compression := range compressions {
		cfg := Config{Compression: compression, Recipient: recipient}
		t.Run(modeName(cfg), func(t *testing.T) {
			t.Parallel()
			output := runPipeline(t, cfg, data)
			checkOpenPGPFormat(t, g, output)
			requireSameBytes(t, decompress(t, compression, g.decrypt(output)), data)
		})
	}
}

// checkOpenPGPFormat checks that output is a binary OpenPGP message with an
// integrity-protected data packet and without OpenPGP compression.
func checkOpenPGPFormat(t *testing.T, g *gpgHome, output []byte) {
	t.Helper()
	if len(output) == 0 || output[0]&0x80 == 0 {
		t.Fatalf("output does not start with an OpenPGP packet tag (armored or empty)")
	}
	packets := g.listPackets(output)
	if strings.Contains(packets, "compressed packet") {
		t.Errorf("gpg --list-packets shows a compressed packet, want OpenPGP compression off:\n%s", packets)
	}
	if !strings.Contains(packets, "mdc_method: 2") {
		t.Errorf("gpg --list-packets shows no integrity-protected (MDC) data packet:\n%s", packets)
	}
}

func modeName(cfg Config) string {
	name := cfg.Compression
	if cfg.Recipient != nil {
		name += "+pgp"
	}
	return name
}

// TestPipelineInputSizes covers inputs at and around buffer and block
// boundaries, and single writes larger than a buffer.
func TestPipelineInputSizes(t *testing.T) {
	t.Parallel()
	g := newGPGHome(t)
	primary, _ := eccKey(g, "Sizes <sizes@example.com>")
	recipient := parseRecipient(t, g.exportPublic(primary), time.Now())
	large := claimCSV(3, 3*gzipBlockSize)

	sizes := []int{0, 1, 200, stageBufferSize, stageBufferSize + 1, gzipDictSize - 1,
		gzipBlockSize - 1, gzipBlockSize, gzipBlockSize + 1, 2 * gzipBlockSize, len(large)}
	for _, compression := range compressions {
		for _, encrypted := range []bool{false, true} {
			cfg := Config{Compression: compression}
			if encrypted {
				cfg.Recipient = recipient
			}
			for _, size := range sizes {
				t.Run(fmt.Sprintf("%s/%d", modeName(cfg), size), func(t *testing.T) {
					t.Parallel()
					data := large[:size]
					var dst bytes.Buffer
					p, err := New(&dst, cfg)
					if err != nil {
						t.Fatalf("New: %v", err)
					}
					if size > 0 {
						// One call for the whole input.
						if n, err := p.Write(data); err != nil || n != size {
							t.Fatalf("Write(%d bytes) = %d, %v", size, n, err)
						}
					}
					if err := p.Close(); err != nil {
						t.Fatalf("Close: %v", err)
					}
					checkCounters(t, p, size, dst.Bytes())
					output := dst.Bytes()
					if encrypted {
						output = g.decrypt(output)
					}
					requireSameBytes(t, decompress(t, compression, output), data)
				})
			}
		}
	}
}

// failingWriter accepts limit bytes and then fails every write.
type failingWriter struct {
	limit   int
	written int
	err     error
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.written+len(p) <= w.limit {
		w.written += len(p)
		return len(p), nil
	}
	n := w.limit - w.written
	w.written = w.limit
	return n, w.err
}

// shortWriter accepts half of every write without an error.
type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) {
	return len(p) / 2, nil
}

func TestPipelineDestinationError(t *testing.T) {
	t.Parallel()
	g := newGPGHome(t)
	primary, _ := eccKey(g, "Failing <failing@example.com>")
	recipient := parseRecipient(t, g.exportPublic(primary), time.Now())
	data := claimCSV(4, 8*gzipBlockSize)
	errDisk := errors.New("disk full")

	for _, compression := range compressions {
		for _, encrypted := range []bool{false, true} {
			cfg := Config{Compression: compression}
			if encrypted {
				cfg.Recipient = recipient
			}
			t.Run(modeName(cfg), func(t *testing.T) {
				t.Parallel()
				dst := &failingWriter{limit: 100 << 10, err: errDisk}
				p, err := New(dst, cfg)
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				err = writeAll(p, data)
				if err == nil {
					err = p.Close()
				} else {
					p.Abort(err)
				}
				if !errors.Is(err, errDisk) {
					t.Fatalf("Write or Close error = %v, want one that wraps %v", err, errDisk)
				}
				if got := p.OutputBytes(); got != int64(dst.limit) {
					t.Errorf("OutputBytes() = %d, want the %d bytes the destination accepted", got, dst.limit)
				}
				if got := p.SHA256(); got != "" {
					t.Errorf("SHA256() = %q after a failed run, want empty", got)
				}
			})
		}
	}

	t.Run("ShortWrite", func(t *testing.T) {
		t.Parallel()
		p, err := New(shortWriter{}, Config{Compression: CompressionZstd})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		err = writeAll(p, data)
		if err == nil {
			err = p.Close()
		} else {
			p.Abort(err)
		}
		if !errors.Is(err, io.ErrShortWrite) {
			t.Fatalf("error = %v, want one that wraps io.ErrShortWrite", err)
		}
	})
}

// writeAll writes data one row per call and returns the first error.
func writeAll(w io.Writer, data []byte) error {
	for len(data) > 0 {
		end := bytes.IndexByte(data, '\n') + 1
		if end == 0 {
			end = len(data)
		}
		if _, err := w.Write(data[:end]); err != nil {
			return err
		}
		data = data[end:]
	}
	return nil
}

func TestPipelineAbort(t *testing.T) {
	t.Parallel()
	g := newGPGHome(t)
	primary, _ := eccKey(g, "Aborted <aborted@example.com>")
	recipient := parseRecipient(t, g.exportPublic(primary), time.Now())
	data := claimCSV(5, 4*gzipBlockSize)
	errCopy := errors.New("COPY failed: canceling statement due to user request")

	for _, compression := range compressions {
		for _, encrypted := range []bool{false, true} {
			cfg := Config{Compression: compression}
			if encrypted {
				cfg.Recipient = recipient
			}
			t.Run(modeName(cfg), func(t *testing.T) {
				t.Parallel()
				var dst bytes.Buffer
				p, err := New(&dst, cfg)
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				writeRows(t, p, data)
				p.Abort(errCopy)

				if _, err := p.Write([]byte("x")); !errors.Is(err, errCopy) {
					t.Errorf("Write after Abort: error = %v, want one that wraps %v", err, errCopy)
				}
				if err := p.Close(); !errors.Is(err, errCopy) {
					t.Errorf("Close after Abort: error = %v, want one that wraps %v", err, errCopy)
				}
				if got := p.SHA256(); got != "" {
					t.Errorf("SHA256() = %q after Abort, want empty", got)
				}
				if got := p.InputBytes(); got != int64(len(data)) {
					t.Errorf("InputBytes() = %d, want %d", got, len(data))
				}
			})
		}
	}
}

// blockingWriter blocks every write until release is closed, and counts the
// writes that started.
type blockingWriter struct {
	release chan struct{}
	mu      sync.Mutex
	started int
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.started++
	w.mu.Unlock()
	<-w.release
	return len(p), nil
}

// TestPipelineWriteDoesNotWaitForDestination checks the hand-off: while the
// destination is stuck, Write keeps accepting data until the buffers of
// every layer are full, and then blocks instead of buffering more.
func TestPipelineWriteDoesNotWaitForDestination(t *testing.T) {
	t.Parallel()
	dst := &blockingWriter{release: make(chan struct{})}
	p, err := New(dst, Config{Compression: CompressionNone})
	if err != nil {
		t.Fatalf("New: %v", err)
	}

	data := claimCSV(6, 8*stageBufferSize)
	accepted := make(chan error, 1)
	go func() {
		accepted <- writeAll(p, data[:4*stageBufferSize])
	}()
	select {
	case err := <-accepted:
		if err != nil {
			t.Fatalf("Write: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Write blocked on a stuck destination although buffers were free")
	}

	more := make(chan error, 1)
	go func() {
		more <- writeAll(p, bytes.Repeat(data, 2))
	}()
	select {
	case err := <-more:
		t.Fatalf("writing %d bytes returned (error %v) while the destination was stuck, want Write to block",
			2*len(data), err)
	case <-time.After(200 * time.Millisecond):
	}

	close(dst.release)
	if err := <-more; err != nil {
		t.Fatalf("Write after the destination resumed: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got, want := p.OutputBytes(), int64(4*stageBufferSize+2*len(data)); got != want {
		t.Errorf("OutputBytes() = %d, want %d", got, want)
	}
}

func TestNewRejectsRecipientExpiredSinceParse(t *testing.T) {
	t.Parallel()
	g := newGPGHome(t)
	primary := g.generateKey("Short Lived <short@example.com>", "ed25519", "sign", "never")
	g.addSubkey(primary, "cv25519", "encr", "seconds=5")
	recipient := parseRecipient(t, g.exportPublic(primary), time.Now())

	// go-crypto compares whole seconds and treats the expiry second itself
	// as valid, so wait until two seconds past it.
	time.Sleep(time.Until(recipient.Expires().Add(2 * time.Second)))

	var dst bytes.Buffer
	_, err := New(&dst, Config{Compression: CompressionGzip, Recipient: recipient})
	requireErrorContains(t, err, primary, "can no longer encrypt")
	if dst.Len() != 0 {
		t.Errorf("New wrote %d bytes to the destination before failing, want none", dst.Len())
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, compression := range []string{"", CompressionNone, CompressionGzip, CompressionZstd} {
		if err := (Config{Compression: compression}).Validate(); err != nil {
			t.Errorf("Validate() with compression %q: %v", compression, err)
		}
	}
	err := Config{Compression: "bzip2"}.Validate()
	requireErrorContains(t, err, `invalid compression "bzip2"`)
	err = Config{Recipient: &Recipient{}}.Validate()
	requireErrorContains(t, err, "invalid recipient", "ParseRecipient")
	if _, err := New(io.Discard, Config{Compression: "bzip2"}); err == nil {
		t.Error("New with compression bzip2: error = nil, want an error")
	}
}

func TestExtension(t *testing.T) {
	t.Parallel()
	recipient := &Recipient{}
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{}, ""},
		{Config{Compression: CompressionNone}, ""},
		{Config{Compression: CompressionGzip}, ".gz"},
		{Config{Compression: CompressionZstd}, ".zst"},
		{Config{Recipient: recipient}, ".pgp"},
		{Config{Compression: CompressionGzip, Recipient: recipient}, ".gz.pgp"},
		{Config{Compression: CompressionZstd, Recipient: recipient}, ".zst.pgp"},
	}
	for _, tt := range tests {
		if got := Extension(tt.cfg); got != tt.want {
			t.Errorf("Extension(%s) = %q, want %q", modeName(tt.cfg), got, tt.want)
		}
	}
}
