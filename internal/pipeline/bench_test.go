package pipeline

import (
	"io"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

// heapSample is the largest heap seen while a pipeline ran.
type heapSample struct {
	live  uint64 // heap reachable at the end of a GC cycle
	inuse uint64 // heap spans in use, including garbage not yet collected
}

// sampleHeap samples the heap every 5 ms until the returned function is
// called, which returns the maxima.
func sampleHeap() (stop func() heapSample) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var peak heapSample
	wg.Add(1)
	go func() {
		defer wg.Done()
		ticker := time.NewTicker(5 * time.Millisecond)
		defer ticker.Stop()
		samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		var stats runtime.MemStats
		for {
			metrics.Read(samples)
			runtime.ReadMemStats(&stats)
			peak.live = max(peak.live, samples[0].Value.Uint64())
			peak.inuse = max(peak.inuse, stats.HeapInuse)
			select {
			case <-done:
				return
			case <-ticker.C:
			}
		}
	}()
	return func() heapSample {
		close(done)
		wg.Wait()
		return peak
	}
}

// TestPipelineMemoryFlat streams 30 MB and 300 MB of generated claim rows
// (about 200 thousand and 2 million rows) through each compressing and
// encrypting mode to io.Discard. The heap must stay small, and the live heap
// must not grow with the input. The test is not parallel, so that the heap
// holds only this pipeline.
func TestPipelineMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 660 MB of generated rows; skipped with -short")
	}
	g := newGPGHome(t)
	primary, _ := eccKey(g, "Memory <memory@example.com>")
	recipient := parseRecipient(t, g.exportPublic(primary), time.Now())

	// HeapInuse also counts garbage: go-crypto's CFB writer allocates a new
	// buffer for every write, about the size of the output in total.
	const maxInuse = 48 << 20
	const maxLive = 24 << 20
	// Sampling catches a varying number of gzip's 1 MiB blocks in flight, so
	// the growth allowance covers a few of them; heap that grew with the input
	// would be over 100 MiB larger at 10 times the input.
	const maxLiveGrowth = 8 << 20
	for _, compression := range []string{CompressionGzip, CompressionZstd} {
		cfg := Config{Compression: compression, Recipient: recipient}
		t.Run(modeName(cfg), func(t *testing.T) {
			small := streamHeap(t, cfg, 30_000_000)
			large := streamHeap(t, cfg, 300_000_000)
			t.Logf("peak live heap %.1f MiB for 30 MB, %.1f MiB for 300 MB; peak HeapInuse %.1f MiB, %.1f MiB",
				mebibytes(small.live), mebibytes(large.live), mebibytes(small.inuse), mebibytes(large.inuse))
			if large.inuse > maxInuse {
				t.Errorf("peak HeapInuse = %d bytes for 300 MB, want at most %d", large.inuse, maxInuse)
			}
			if large.live > maxLive {
				t.Errorf("peak live heap = %d bytes for 300 MB, want at most %d", large.live, maxLive)
			}
			if large.live > small.live+maxLiveGrowth {
				t.Errorf("peak live heap grew from %d to %d bytes with 10 times the input, want at most %d more",
					small.live, large.live, maxLiveGrowth)
			}
		})
	}
}

func mebibytes(n uint64) float64 {
	return float64(n) / (1 << 20)
}

func streamHeap(t *testing.T, cfg Config, size int64) heapSample {
	t.Helper()
	runtime.GC()
	stop := sampleHeap()
	p, err := New(io.Discard, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	written, err := streamClaims(p, 8, size)
	if err != nil {
		t.Fatalf("write: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	peak := stop()
	if got := p.InputBytes(); got != written {
		t.Errorf("InputBytes() = %d, want %d", got, written)
	}
	return peak
}

// BenchmarkPipeline measures each mode on 64 MiB of generated claim rows,
// written one row per call as a COPY delivers them, into io.Discard. The
// reported ratio is input bytes per output byte.
func BenchmarkPipeline(b *testing.B) {
	g := newGPGHome(b)
	primary := g.generateKey("Benchmark <benchmark@example.com>", "ed25519", "sign", "never")
	g.addSubkey(primary, "cv25519", "encr", "never")
	recipient, err := ParseRecipient(g.exportPublic(primary), time.Now())
	if err != nil {
		b.Fatalf("ParseRecipient: %v", err)
	}
	data := claimCSV(9, 64<<20)

	for _, compression := range compressions {
		for _, encrypted := range []bool{false, true} {
			cfg := Config{Compression: compression}
			if encrypted {
				cfg.Recipient = recipient
			}
			b.Run(modeName(cfg), func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				var output int64
				for b.Loop() {
					p, err := New(io.Discard, cfg)
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
}
