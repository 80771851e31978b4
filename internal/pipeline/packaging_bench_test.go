package pipeline

import (
	"io"
	"testing"
	"time"
)

// BenchmarkPipelinePackaging measures the modes added for partner
// packaging on 64 MiB of generated claim rows, written one row per call,
// into io.Discard: zip, zip encrypted, and zstd encrypted and signed. Zip
// deflates on one goroutine, so it is slower than the parallel gzip of
// BenchmarkPipeline; signing hashes the whole stream once more with
// SHA-256.
func BenchmarkPipelinePackaging(b *testing.B) {
	g := newGPGHome(b)
	primary := g.generateKey("Benchmark <benchmark@example.com>", "ed25519", "sign", "never")
	g.addSubkey(primary, "cv25519", "encr", "never")
	recipient, err := ParseRecipient(g.exportPublic(primary), time.Now())
	if err != nil {
		b.Fatalf("ParseRecipient: %v", err)
	}
	signer, err := ParseSigner(g.exportSecret(primary), time.Now())
	if err != nil {
		b.Fatalf("ParseSigner: %v", err)
	}
	data := claimCSV(9, 64<<20)

	modes := []struct {
		name string
		cfg  Config
	}{
		{"zip", Config{Compression: CompressionZip, ZipEntry: "claims.csv"}},
		{"zip+pgp", Config{Compression: CompressionZip, ZipEntry: "claims.csv", Recipient: recipient}},
		{"zstd+pgp+signed", Config{Compression: CompressionZstd, Recipient: recipient, Signer: signer}},
	}
	for _, mode := range modes {
		b.Run(mode.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			var output int64
			for b.Loop() {
				p, err := New(io.Discard, mode.cfg)
				if err != nil {
					b.Fatalf("New: %v", err)
				}
				writeRows(b, p, data)
				if err := p.Close(); err != nil {
					b.Fatalf("Close: %v", err)
				}
				output = p.OutputBytes()
			}
			b.ReportMetric(float64(len(data))/float64(output), "ratio")
		})
	}
}
