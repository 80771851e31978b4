package parquet

import (
	"fmt"
	"math/bits"
	"sync"

	"github.com/klauspost/compress/zstd"
	pqformat "github.com/parquet-go/parquet-go/format"
)

// zstdCodec compresses pages with one zstd encoder whose window is no
// larger than a page. parquet-go's own codec keeps encoders with the
// default 8 MiB window in a pool that the garbage collector empties, so it
// held tens of MiB and rebuilt them often.
type zstdCodec struct {
	level  zstd.EncoderLevel
	window int

	mu      sync.Mutex
	encoder *zstd.Encoder
	decoder *zstd.Decoder
}

// newZstdCodec returns a codec for pages of up to pageBytes bytes at a
// zstd compression level from 1 to 22.
func newZstdCodec(level, pageBytes int) *zstdCodec {
	// Each page is compressed on its own and never refers back past its
	// start, so a window as large as the page loses nothing. The window
	// must be a power of two.
	window := max(1<<bits.Len(uint(pageBytes-1)), zstd.MinWindowSize)
	return &zstdCodec{level: zstd.EncoderLevelFromZstd(level), window: min(window, zstd.MaxWindowSize)}
}

func (c *zstdCodec) String() string { return "ZSTD" }

func (c *zstdCodec) CompressionCodec() pqformat.CompressionCodec { return pqformat.Zstd }

func (c *zstdCodec) Encode(dst, src []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.encoder == nil {
		e, err := zstd.NewWriter(nil,
			zstd.WithEncoderLevel(c.level),
			zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(c.window),
			zstd.WithZeroFrames(true),
			zstd.WithEncoderCRC(false))
		if err != nil {
			return nil, fmt.Errorf("start zstd encoder: %w", err)
		}
		c.encoder = e
	}
	return c.encoder.EncodeAll(src, dst[:0]), nil
}

func (c *zstdCodec) Decode(dst, src []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.decoder == nil {
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("start zstd decoder: %w", err)
		}
		c.decoder = d
	}
	return c.decoder.DecodeAll(src, dst[:0])
}
