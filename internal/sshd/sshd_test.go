package sshd_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/axtract/axtract/internal/sshd"
	"github.com/axtract/axtract/internal/sshd/sshdtest"
)

func TestStartServesSFTP(t *testing.T) {
	t.Parallel()
	server := sshdtest.Start(t, sshd.Options{})

	if server.Host != "127.0.0.1" {
		t.Errorf("Host = %q, want 127.0.0.1", server.Host)
	}
	if server.Port == 0 {
		t.Error("Port = 0, want the port sshd listens on")
	}
	if !strings.HasPrefix(server.HostKey, "ssh-ed25519 ") {
		t.Errorf("HostKey = %q, want an ssh-ed25519 authorized_keys line", server.HostKey)
	}

	client := dialSFTP(t, server)
	f, err := client.Create("hello.txt")
	if err != nil {
		t.Fatalf("create hello.txt over SFTP: %v", err)
	}
	if _, err := f.Write([]byte("hello\n")); err != nil {
		t.Fatalf("write hello.txt: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("close hello.txt: %v", err)
	}

	got, err := os.ReadFile(filepath.Join(server.Root, "hello.txt"))
	if err != nil {
		t.Fatalf("read uploaded file from root: %v", err)
	}
	if !bytes.Equal(got, []byte("hello\n")) {
		t.Errorf("uploaded file contains %q, want %q", got, "hello\n")
	}
}

func TestStartOffersNoShell(t *testing.T) {
	t.Parallel()
	server := sshdtest.Start(t, sshd.Options{})

	conn := dialSSH(t, server)
	session, err := conn.NewSession()
	if err != nil {
		t.Fatalf("open session: %v", err)
	}
	defer session.Close()
	output, err := session.CombinedOutput("echo shell-reached")
	if strings.Contains(string(output), "shell-reached") {
		t.Errorf("command ran in a shell (output %q, error %v), want SFTP only", output, err)
	}
}

func TestStopRemovesFilesAndProcess(t *testing.T) {
	t.Parallel()
	keptDir := t.TempDir()
	server := sshdtest.Start(t, sshd.Options{Dir: keptDir})

	if server.Root != keptDir {
		t.Errorf("Root = %q, want %q", server.Root, keptDir)
	}
	if err := server.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := server.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}

	if _, err := os.Stat(server.ClientKeyFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stat client key after Stop: %v, want not exist", err)
	}
	if _, err := os.Stat(keptDir); err != nil {
		t.Errorf("stat Options.Dir after Stop: %v, want it kept", err)
	}
	config := &ssh.ClientConfig{
		User:            server.User,
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Timeout:         2 * time.Second,
	}
	if conn, err := ssh.Dial("tcp", server.Addr, config); err == nil {
		conn.Close()
		t.Errorf("ssh to %s after Stop succeeded, want connection refused", server.Addr)
	}
}

func TestStartRejectsMissingDir(t *testing.T) {
	t.Parallel()
	sshdtest.RequireSSHD(t)
	missing := filepath.Join(t.TempDir(), "missing")

	_, err := sshd.Start(t.Context(), sshd.Options{Dir: missing})
	if err == nil {
		t.Fatalf("Start with Dir %s succeeded, want an error", missing)
	}
	if !strings.Contains(err.Error(), missing) {
		t.Errorf("error %q does not name the directory %s", err, missing)
	}
}

func dialSSH(t *testing.T, server *sshd.Server) *ssh.Client {
	t.Helper()
	keyPEM, err := os.ReadFile(server.ClientKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(keyPEM)
	if err != nil {
		t.Fatalf("parse client key: %v", err)
	}
	hostKey, _, _, _, err := ssh.ParseAuthorizedKey([]byte(server.HostKey))
	if err != nil {
		t.Fatalf("parse host key %q: %v", server.HostKey, err)
	}
	config := &ssh.ClientConfig{
		User:            server.User,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.FixedHostKey(hostKey),
		Timeout:         5 * time.Second,
	}
	conn, err := ssh.Dial("tcp", server.Addr, config)
	if err != nil {
		t.Fatalf("ssh to %s: %v", server.Addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func dialSFTP(t *testing.T, server *sshd.Server) *sftp.Client {
	t.Helper()
	client, err := sftp.NewClient(dialSSH(t, server))
	if err != nil {
		t.Fatalf("start SFTP session: %v", err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}
