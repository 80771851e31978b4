package pipeline

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
)

const (
	// gzipBlockSize is the amount of input that one goroutine compresses at
	// a time.
	gzipBlockSize = 1 << 20

	// gzipDictSize is the DEFLATE window size. Each block is compressed with
	// the preceding 32 KiB of input as its dictionary, so matches may reach
	// back across a block boundary as they would in a serial stream.
	gzipDictSize = 32 << 10
)

// gzipHeader is a gzip member header (RFC 1952) without name, time or extra
// fields, with XFL 4 (fastest compression) and OS 255 (unknown).
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255}

// errGzipClosed is returned by Write after Close.
var errGzipClosed = errors.New("gzip writer is closed")

// gzipWriter writes one gzip member whose DEFLATE stream is compressed in
// blocks on several goroutines, as pigz does. Every block but the last ends
// with a sync flush, which aligns it to a byte boundary, so the compressed
// blocks concatenate into a single valid DEFLATE stream. Output is written to
// dst in input order by one goroutine.
//
// Write and Close must be called from one goroutine at a time; stop may be
// called from any goroutine.
type gzipWriter struct {
	dst     io.Writer
	level   int
	current *gzipBlock
	tail    []byte // last gzipDictSize bytes of input dispatched so far
	crc     uint32
	size    uint32 // input size modulo 2^32, as gzip's ISIZE field stores it
	started bool
	closed  bool

	free    chan *gzipBlock
	work    chan *gzipBlock
	ordered chan *gzipBlock
	failed  *failure
	wg      sync.WaitGroup
}

type gzipBlock struct {
	input      []byte
	dict       []byte
	first      bool
	final      bool
	trailer    [8]byte
	output     bytes.Buffer
	compressed chan struct{}
}

// newGzipWriter returns a gzipWriter whose blocks are compressed by workers
// goroutines at the given flate level, which must be valid.
func newGzipWriter(dst io.Writer, level, workers int) *gzipWriter {
	blocks := workers + 2
	z := &gzipWriter{
		dst:     dst,
		level:   level,
		tail:    make([]byte, 0, gzipDictSize),
		free:    make(chan *gzipBlock, blocks),
		work:    make(chan *gzipBlock, blocks),
		ordered: make(chan *gzipBlock, blocks),
		failed:  newFailure(),
	}
	for range blocks {
		z.free <- &gzipBlock{compressed: make(chan struct{}, 1)}
	}
	z.wg.Add(workers + 1)
	for range workers {
		go z.compress()
	}
	go z.writeOut()
	return z
}

func (z *gzipWriter) compress() {
	defer z.wg.Done()
	fw, err := flate.NewWriter(io.Discard, z.level)
	if err != nil {
		z.failed.set(err)
	}
	for block := range z.work {
		if z.failed.get() == nil {
			if err := compressBlock(fw, block); err != nil {
				z.failed.set(err)
			}
		}
		block.compressed <- struct{}{}
	}
}

func compressBlock(fw *flate.Writer, block *gzipBlock) error {
	block.output.Reset()
	if block.first {
		block.output.Write(gzipHeader)
	}
	fw.ResetDict(&block.output, block.dict)
	if _, err := fw.Write(block.input); err != nil {
		return err
	}
	if !block.final {
		return fw.Flush()
	}
	if err := fw.Close(); err != nil {
		return err
	}
	block.output.Write(block.trailer[:])
	return nil
}

func (z *gzipWriter) writeOut() {
	defer z.wg.Done()
	for block := range z.ordered {
		<-block.compressed
		if z.failed.get() == nil {
			if _, err := z.dst.Write(block.output.Bytes()); err != nil {
				z.failed.set(err)
			}
		}
		z.free <- block
	}
}

// Write copies p into the current block and hands full blocks to the
// workers. Errors of earlier blocks surface on a later Write or on Close.
func (z *gzipWriter) Write(p []byte) (int, error) {
	if z.closed {
		return 0, errGzipClosed
	}
	if err := z.failed.get(); err != nil {
		return 0, err
	}
	written := 0
	for len(p) > 0 {
		if z.current == nil {
			if err := z.nextBlock(); err != nil {
				return written, err
			}
		}

		block := z.current
		n := min(len(p), gzipBlockSize-len(block.input))
		block.input = append(block.input, p[:n]...)
		z.crc = crc32.Update(z.crc, crc32.IEEETable, p[:n])
		z.size += uint32(n)
		p = p[n:]
		written += n

		if len(block.input) == gzipBlockSize {
			z.dispatch(false)
		}
	}
	return written, nil
}

func (z *gzipWriter) nextBlock() error {
	select {
	case block := <-z.free:
		if block.input == nil {
			block.input = make([]byte, 0, gzipBlockSize)
		}
		block.input = block.input[:0]
		z.current = block
		return nil
	case <-z.failed.done:
		return z.failed.err
	}
}

// dispatch queues the current block for compression and for output. The
// channel sends cannot block, because each channel has room for every block
// of the pool.
func (z *gzipWriter) dispatch(final bool) {
	block := z.current
	z.current = nil
	block.first = !z.started
	block.final = final
	z.started = true
	block.dict = append(block.dict[:0], z.tail...)
	if final {
		binary.LittleEndian.PutUint32(block.trailer[0:4], z.crc)
		binary.LittleEndian.PutUint32(block.trailer[4:8], z.size)
	} else {
		z.updateTail(block.input)
	}
	z.ordered <- block
	z.work <- block
}

func (z *gzipWriter) updateTail(input []byte) {
	if len(input) >= gzipDictSize {
		z.tail = append(z.tail[:0], input[len(input)-gzipDictSize:]...)
		return
	}
	z.tail = append(z.tail, input...)
	if excess := len(z.tail) - gzipDictSize; excess > 0 {
		copy(z.tail, z.tail[excess:])
		z.tail = z.tail[:gzipDictSize]
	}
}

// Close compresses the last block, writes the gzip trailer, waits for every
// goroutine to exit and returns the first error. After stop it only waits.
func (z *gzipWriter) Close() error {
	if z.closed {
		return z.failed.get()
	}
	z.closed = true
	if z.failed.get() == nil && (z.current != nil || z.nextBlock() == nil) {
		z.dispatch(true)
	}
	close(z.work)
	close(z.ordered)
	z.wg.Wait()
	return z.failed.get()
}

// stop makes the goroutines skip the remaining blocks and makes Write return
// err. Close must still be called to wait for the goroutines.
func (z *gzipWriter) stop(err error) {
	z.failed.set(err)
}
