package pipeline

import (
	"archive/zip"
	"fmt"
	"io"
	"time"

	"github.com/klauspost/compress/flate"
)

// zipWriter writes a zip archive holding one deflated entry. archive/zip
// streams: with a destination that cannot seek, it writes the entry's sizes
// and CRC in a data descriptor after the data, and switches to zip64
// records when the entry passes 4 GiB, so nothing is buffered whole.
type zipWriter struct {
	archive *zip.Writer
	entry   io.Writer
}

// newZipWriter starts the archive on dst with one entry called name,
// modified at modified.
func newZipWriter(dst io.Writer, name string, modified time.Time) (*zipWriter, error) {
	archive := zip.NewWriter(dst)
	// klauspost/compress's flate at its fastest level, as the gzip layer
	// uses, in place of the slower compress/flate.
	archive.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestSpeed)
	})
	entry, err := archive.CreateHeader(&zip.FileHeader{
		Name:     name,
		Method:   zip.Deflate,
		Modified: modified,
	})
	if err != nil {
		return nil, fmt.Errorf("start zip entry %s: %w", name, err)
	}
	return &zipWriter{archive: archive, entry: entry}, nil
}

func (z *zipWriter) Write(p []byte) (int, error) {
	return z.entry.Write(p)
}

// Close ends the entry and writes the central directory.
func (z *zipWriter) Close() error {
	return z.archive.Close()
}
