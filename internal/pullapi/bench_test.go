package pullapi_test

import (
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/axtract/axtract/internal/pullapi"
)

// BenchmarkDownloadOverTLS downloads one 100 MiB file through the pull API
// over TLS on loopback, audit event included.
func BenchmarkDownloadOverTLS(b *testing.B) {
	bundle := setup(b, pullapi.Options{RequestsPerSecond: 1000, Burst: 1000})
	content := make([]byte, 100<<20)
	rand.Read(content)
	_, fileID := bundle.deliver(b, "acme-roster", "acme", "big.csv.zst", content)
	_, token := bundle.token(b, "acme", time.Hour, "download")
	url := fmt.Sprintf("%s/api/v1/files/%d", bundle.base, fileID)

	b.SetBytes(int64(len(content)))
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := bundle.client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || n != int64(len(content)) {
			b.Fatalf("read %d bytes, %v; want %d", n, err, len(content))
		}
	}
}
