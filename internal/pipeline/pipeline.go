package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/zstd"
)

// Compression names accepted in Config.Compression.
const (
	CompressionNone = "none"
	CompressionGzip = "gzip"
	CompressionZstd = "zstd"
	// CompressionZip writes a zip archive holding one deflated entry, for
	// partners whose tools open zip archives only.
	CompressionZip = "zip"
)

// maxCompressionWorkers caps the goroutines that compress one feed. The
// database producing the COPY stream needs CPU too, so a feed does not take
// every core of a large machine.
const maxCompressionWorkers = 4

// zstdWindowSize is the zstd window size. With 1 MiB the encoder keeps about
// 3 MiB live, against 9 MiB with klauspost/compress's default of 8 MiB, and
// generated claim rows compress within 0.1% of the default's ratio.
const zstdWindowSize = 1 << 20

// Config selects the layers of a pipeline.
type Config struct {
	// Compression is CompressionNone, CompressionGzip, CompressionZstd or
	// CompressionZip. The empty string means CompressionNone.
	Compression string

	// ZipEntry is the name of the file inside the archive when Compression is
	// CompressionZip, usually the data file's name. Required for zip.
	ZipEntry string

	// Recipient is the OpenPGP key, from ParseRecipient, that the output is
	// encrypted to. Nil writes the (compressed) data without encryption.
	Recipient *Recipient

	// Signer, when set, signs the encrypted message with this private key,
	// from LoadSigner or ParseSigner. It needs a Recipient.
	Signer *Signer

	// Now is the time written into OpenPGP packets and the zip entry, and
	// the time at which the keys must be valid. Zero means time.Now.
	Now time.Time
}

// Validate returns an error when the configuration names an unknown
// compression or holds a Recipient that ParseRecipient did not return.
// Callers check it before starting the COPY.
func (c Config) Validate() error {
	switch c.Compression {
	case "", CompressionNone, CompressionGzip, CompressionZstd:
	case CompressionZip:
		if c.ZipEntry == "" {
			return errors.New("zip compression needs ZipEntry, the name of the file inside the archive")
		}
	default:
		return fmt.Errorf("invalid compression %q: want %q, %q, %q or %q",
			c.Compression, CompressionNone, CompressionGzip, CompressionZstd, CompressionZip)
	}
	if c.Recipient != nil && c.Recipient.entity == nil {
		return errors.New("invalid recipient: no key loaded (create the Recipient with ParseRecipient)")
	}
	if c.Signer != nil && c.Signer.entity == nil {
		return errors.New("invalid signer: no key loaded (create the Signer with LoadSigner or ParseSigner)")
	}
	if c.Signer != nil && c.Recipient == nil {
		return errors.New("signing needs encryption: set a Recipient, or leave Signer nil")
	}
	return nil
}

// Extension returns the file name suffix for the layers cfg selects: ".gz",
// ".zst" or ".zip" for compression, then ".pgp" for encryption. It returns "" for an
// uncompressed, unencrypted feed and for an invalid compression.
func Extension(cfg Config) string {
	ext := ""
	switch cfg.Compression {
	case CompressionGzip:
		ext = ".gz"
	case CompressionZstd:
		ext = ".zst"
	case CompressionZip:
		ext = ".zip"
	}
	if cfg.Recipient != nil {
		ext += ".pgp"
	}
	return ext
}

// Pipeline is an io.WriteCloser that compresses and encrypts what is written
// to it and writes the result to a destination. Each layer runs on its own
// goroutine behind a bounded hand-off, so Write returns as soon as the data
// is copied into a free buffer. Memory stays constant however much is
// written.
//
// Write, Close and Abort must not be called concurrently. InputBytes and
// OutputBytes may be called from any goroutine at any time.
//
// Once the buffers are full, Write blocks for as long as dst does. Close and
// Abort also wait for a Write to dst in progress. A destination that can hang
// must therefore be made to fail on cancellation, for example by closing its
// connection.
type Pipeline struct {
	layers []io.WriteCloser // layers[0] receives Write, and each layer writes into the next
	out    *output
	input  atomic.Int64
	done   bool
	err    error
	sum    string
}

// New starts a pipeline that writes to dst. When cfg has a Recipient, New
// checks that its key can still encrypt, and a Signer's that it can still
// sign, and writes the OpenPGP headers. dst
// is written from a goroutine of the pipeline, one call at a time, and is not
// closed by it.
func New(dst io.Writer, cfg Config) (*Pipeline, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Pipeline{out: &output{dst: dst, hash: sha256.New()}}
	now := cfg.Now
	if now.IsZero() {
		now = time.Now()
	}

	// Layers are stacked from the destination upwards, each with a stage in
	// front of it so that it runs on its own goroutine.
	p.push(newStage(p.out))
	if cfg.Recipient != nil {
		encryptor, err := newEncryptor(p.layers[0], cfg.Recipient, cfg.Signer, now)
		if err != nil {
			p.release(0, err)
			return nil, err
		}
		p.push(encryptor)
		p.push(newStage(encryptor))
	}

	workers := min(runtime.GOMAXPROCS(0), maxCompressionWorkers)
	switch cfg.Compression {
	case CompressionGzip:
		compressor := newGzipWriter(p.layers[0], flate.BestSpeed, workers)
		p.push(compressor)
		p.push(newStage(compressor))
	case CompressionZstd:
		// For a stream, klauspost/compress (v1.20.5) uses any concurrency
		// above one only to encode a block while the previous one is
		// written, so two is enough. The error is only for invalid options.
		compressor, err := zstd.NewWriter(p.layers[0],
			zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithEncoderConcurrency(min(workers, 2)),
			zstd.WithWindowSize(zstdWindowSize))
		if err != nil {
			p.release(0, err)
			return nil, fmt.Errorf("start zstd compression: %w", err)
		}
		p.push(compressor)
		p.push(newStage(compressor))
	case CompressionZip:
		compressor, err := newZipWriter(p.layers[0], cfg.ZipEntry, now)
		if err != nil {
			p.release(0, err)
			return nil, err
		}
		p.push(compressor)
		p.push(newStage(compressor))
	}
	return p, nil
}

func (p *Pipeline) push(layer io.WriteCloser) {
	p.layers = append([]io.WriteCloser{layer}, p.layers...)
}

// Write copies b into the pipeline. It blocks only while every buffer of the
// first layer is in use. An error means that some layer or the destination
// failed, and the caller should then call Abort.
func (p *Pipeline) Write(b []byte) (int, error) {
	if p.done {
		return 0, p.closedError()
	}
	n, err := p.layers[0].Write(b)
	p.input.Add(int64(n))
	return n, err
}

// Close flushes every layer in order, waits for the pipeline's goroutines to
// exit and returns the first error of any layer or of dst. The output in dst
// is complete only when Close returns nil.
func (p *Pipeline) Close() error {
	if p.done {
		return p.closedError()
	}
	p.done = true
	for i, layer := range p.layers {
		if err := layer.Close(); err != nil {
			p.release(i+1, err)
			p.err = err
			return err
		}
	}
	p.sum = hex.EncodeToString(p.out.hash.Sum(nil))
	return nil
}

// Abort stops every layer without flushing and returns after the pipeline's
// goroutines have exited, which requires a Write to dst in progress to
// return. Later calls of Write and Close return an error that wraps err. What
// dst received is incomplete and must be discarded. Abort after Close does
// nothing.
func (p *Pipeline) Abort(err error) {
	if p.done {
		return
	}
	p.done = true
	if err == nil {
		err = errors.New("no reason given")
	}
	p.err = fmt.Errorf("pipeline aborted: %w", err)
	p.release(0, p.err)
}

// release stops the layers from index from on, then closes them to wait for
// their goroutines. It ignores their errors, because a stopped layer returns
// err to its writers and closing a layer above a stopped one fails at once.
func (p *Pipeline) release(from int, err error) {
	for _, layer := range p.layers[from:] {
		if s, ok := layer.(interface{ stop(error) }); ok {
			s.stop(err)
		}
	}
	for _, layer := range p.layers[from:] {
		_ = layer.Close()
	}
}

func (p *Pipeline) closedError() error {
	if p.err != nil {
		return p.err
	}
	return errors.New("pipeline is closed")
}

// InputBytes returns the number of bytes written to the pipeline.
func (p *Pipeline) InputBytes() int64 {
	return p.input.Load()
}

// OutputBytes returns the number of bytes that dst accepted.
func (p *Pipeline) OutputBytes() int64 {
	return p.out.written.Load()
}

// SHA256 returns the hex SHA-256 digest of the bytes written to dst. It is
// empty until Close returned nil.
func (p *Pipeline) SHA256() string {
	return p.sum
}

// output is the bottom layer. It writes to the destination and counts and
// hashes the bytes that the destination accepted.
type output struct {
	dst     io.Writer
	hash    hash.Hash
	written atomic.Int64
}

func (o *output) Write(b []byte) (int, error) {
	n, err := o.dst.Write(b)
	if n < 0 || n > len(b) {
		return 0, fmt.Errorf("write to destination: invalid count %d for %d bytes", n, len(b))
	}
	o.hash.Write(b[:n])
	o.written.Add(int64(n))
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return n, fmt.Errorf("write to destination: %w", err)
	}
	return n, nil
}
