package sftp_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/axtract/axtract/internal/deliver/sftp"
	"github.com/axtract/axtract/internal/sshd"
	"github.com/axtract/axtract/internal/sshd/sshdtest"
)

// BenchmarkSFTPUpload uploads and commits 1 GiB per iteration to a real
// sshd on 127.0.0.1, in 1 MiB writes of random bytes, as a feed run streams
// an encrypted extract. Commit includes the server's fsync. The disk case
// writes to the test's temporary directory, and the tmpfs case to /dev/shm,
// which leaves out the disk and measures SSH, SFTP and the CPU. Run it with
//
//	go test -run '^$' -bench SFTPUpload -benchtime 2x ./internal/deliver/sftp
func BenchmarkSFTPUpload(b *testing.B) {
	b.Run("disk", func(b *testing.B) {
		benchmarkUpload(b, b.TempDir())
	})
	b.Run("tmpfs", func(b *testing.B) {
		if info, err := os.Stat("/dev/shm"); err != nil || !info.IsDir() {
			b.Skip("no /dev/shm on this system")
		}
		dir, err := os.MkdirTemp("/dev/shm", "axtract-bench-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
		benchmarkUpload(b, dir)
	})
}

func benchmarkUpload(b *testing.B, dir string) {
	const fileSize = 1 << 30
	server := sshdtest.Start(b, sshd.Options{Dir: dir})
	dest, err := sftp.Dial(b.Context(), sftp.Config{
		Host:           server.Host,
		Port:           server.Port,
		User:           server.User,
		Dir:            server.Root,
		HostKey:        server.HostKey,
		PrivateKeyFile: server.ClientKeyFile,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer dest.Close()
	chunk := randomBytes(b, 1<<20)
	finalPath := filepath.Join(server.Root, "bench.bin")

	b.SetBytes(fileSize)
	var elapsed time.Duration
	for b.Loop() {
		start := time.Now()
		upload, err := dest.Create(b.Context(), "bench.bin")
		if err != nil {
			b.Fatal(err)
		}
		for written := 0; written < fileSize; written += len(chunk) {
			if _, err := upload.Write(chunk); err != nil {
				b.Fatal(err)
			}
		}
		if err := upload.Commit(b.Context(), fileSize); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)

		b.StopTimer()
		if err := os.Remove(finalPath); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N)*fileSize/(1<<20)/elapsed.Seconds(), "MiB/s")
}
