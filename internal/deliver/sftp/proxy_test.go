package sftp_test

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/axtract/axtract/internal/deliver"
	"github.com/axtract/axtract/internal/deliver/sftp"
)

// faultProxy forwards TCP connections from a port of 127.0.0.1 to target.
// After limit bytes from the client it either closes both sides (cut) or
// stops forwarding in both directions while keeping them open (stall).
type faultProxy struct {
	listener net.Listener
	target   string
	limit    int64
	stall    bool

	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func startFaultProxy(t *testing.T, target string, limit int64, stall bool) *faultProxy {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{listener: listener, target: target, limit: limit, stall: stall}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *faultProxy) port(t *testing.T) int {
	t.Helper()
	_, port, err := net.SplitHostPort(p.listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (p *faultProxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.listener.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()

		p.wg.Add(2)
		go p.forwardFromClient(client, server)
		go p.forwardFromServer(server, client)
	}
}

func (p *faultProxy) forwardFromClient(client, server net.Conn) {
	defer p.wg.Done()
	_, _ = io.CopyN(server, client, p.limit)
	if !p.stall {
		client.Close()
		server.Close()
	}
}

func (p *faultProxy) forwardFromServer(server, client net.Conn) {
	defer p.wg.Done()
	if !p.stall {
		_, _ = io.Copy(client, server)
		return
	}
	// A stalled proxy forwards the server's first bytes, enough for the
	// handshake, and then reads nothing more, like a peer that vanished.
	_, _ = io.CopyN(client, server, p.limit)
}

func (p *faultProxy) close() {
	p.listener.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func TestCutConnectionLeavesNoFinalFile(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	proxy := startFaultProxy(t, bundle.server.Addr, 1<<20, false)
	cutCfg := bundle.cfg
	cutCfg.Port = proxy.port(t)
	cutDest := dial(t, cutCfg)
	data := randomBytes(t, 16<<20)

	upload, err := cutDest.Create(t.Context(), "cut.csv")
	if err != nil {
		t.Fatalf("Create through proxy: %v", err)
	}
	err = writeAll(upload, data)
	if err == nil {
		err = upload.Commit(t.Context(), int64(len(data)))
	}
	if err == nil {
		t.Fatal("upload through a connection cut after 1 MiB succeeded, want an error")
	}
	if deliver.IsPermanent(err) {
		t.Errorf("error %q is permanent, want retryable", err)
	}
	start := time.Now()
	_ = upload.Abort() // The connection is gone, so the temporary file may stay.
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Abort on a cut connection took %s", elapsed)
	}

	if _, err := os.Stat(filepath.Join(bundle.server.Root, "cut.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stat final file after the cut: %v, want not exist", err)
	}
	for _, name := range dirNames(t, bundle.server.Root) {
		if !strings.HasPrefix(name, ".cut.csv.") || !strings.HasSuffix(name, ".part") {
			t.Errorf("remote directory contains %q after the cut, want only temporary .part files", name)
		}
	}

	retryDest := dial(t, bundle.cfg)
	if err := deliverBytes(t.Context(), retryDest, "cut.csv", data); err != nil {
		t.Fatalf("retry over a direct connection: %v", err)
	}
	requireFile(t, filepath.Join(bundle.server.Root, "cut.csv"), data)
	var delivered []string
	for _, name := range dirNames(t, bundle.server.Root) {
		if !strings.HasPrefix(name, ".") {
			delivered = append(delivered, name)
		}
	}
	if len(delivered) != 1 {
		t.Errorf("remote directory has delivered files %q, want exactly cut.csv", delivered)
	}
}

func TestStalledConnectionFailsUpload(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	proxy := startFaultProxy(t, bundle.server.Addr, 1<<20, true)
	stallCfg := bundle.cfg
	stallCfg.Port = proxy.port(t)
	stallCfg.Timeout = time.Second
	dest, err := sftp.Dial(t.Context(), stallCfg)
	if err != nil {
		t.Fatalf("Dial through proxy: %v", err)
	}
	defer dest.Close()
	upload, err := dest.Create(t.Context(), "stalled.csv")
	if err != nil {
		t.Fatalf("Create through proxy: %v", err)
	}

	start := time.Now()
	err = writeAll(upload, randomBytes(t, 64<<20))
	elapsed := time.Since(start)

	if err == nil {
		t.Fatal("upload through a stalled connection succeeded, want an error")
	}
	if deliver.IsPermanent(err) {
		t.Errorf("error %q is permanent, want retryable", err)
	}
	if elapsed > 10*time.Second {
		t.Errorf("upload through a stalled connection failed after %s, want about 2 timeouts of 1s", elapsed)
	}
	if _, err := os.Stat(filepath.Join(bundle.server.Root, "stalled.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stat final file after the stall: %v, want not exist", err)
	}
	_ = upload.Abort()
}

func writeAll(w io.Writer, data []byte) error {
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 256<<10)
		if _, err := w.Write(rest[:n]); err != nil {
			return err
		}
		rest = rest[n:]
	}
	return nil
}
