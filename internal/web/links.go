package web

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/axtract/axtract/internal/pullapi"
)

// DefaultLinkTTL is how long a portal download link stays valid.
const DefaultLinkTTL = 15 * time.Minute

// DownloadLinks returns a function that signs portal download links: paths
// /download/{token} that the pull API's handler serves to anyone holding
// them until ttl has passed. The key is the instance's link key: keyFile, or
// axtract.channel_key when keyFile is empty. It is read on first use and
// kept, and a failed read is tried again on the next call. Zero ttl means
// DefaultLinkTTL.
func DownloadLinks(pool *pgxpool.Pool, keyFile string, ttl time.Duration) func(ctx context.Context, fileID, partnerID int64) (string, error) {
	if ttl <= 0 {
		ttl = DefaultLinkTTL
	}
	var (
		mu  sync.Mutex
		key []byte
	)
	return func(ctx context.Context, fileID, partnerID int64) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if key == nil {
			k, err := pullapi.LinkKey(ctx, pool, keyFile)
			if err != nil {
				return "", err
			}
			key = k
		}
		return "/download/" + pullapi.SignLink(key, fileID, partnerID, time.Now().Add(ttl)), nil
	}
}
