package sshd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// errPortInUse reports that sshd could not bind its port.
var errPortInUse = errors.New("port already in use")

const (
	// handshakeTimeout bounds one readiness probe.
	handshakeTimeout = 2 * time.Second

	// probeInterval is the pause between readiness probes.
	probeInterval = 50 * time.Millisecond

	// logTailBytes is how much of sshd's log an error message quotes.
	logTailBytes = 2048
)

// supportsPenalties reports whether this sshd accepts "PerSourcePenalties no",
// by checking a config that contains it with sshd -t.
func supportsPenalties(ctx context.Context, bin, configPath string, cfg serverConfig) (bool, error) {
	cfg.DisablePenalties = true
	output, err := testConfig(ctx, bin, configPath, cfg)
	if err == nil {
		return true, nil
	}
	if !strings.Contains(output, "PerSourcePenalties") {
		return false, fmt.Errorf("check sshd config: %w: %s", err, output)
	}

	cfg.DisablePenalties = false
	if output, err := testConfig(ctx, bin, configPath, cfg); err != nil {
		return false, fmt.Errorf("check sshd config: %w: %s", err, output)
	}
	return false, nil
}

// testConfig writes cfg to configPath and runs sshd -t on it, which parses the
// config and loads the keys without starting a server.
func testConfig(ctx context.Context, bin, configPath string, cfg serverConfig) (string, error) {
	if cfg.Port == 0 {
		// Any valid port will do: sshd -t does not bind it.
		cfg.Port = 22
	}
	if err := os.WriteFile(configPath, []byte(cfg.render()), 0o644); err != nil {
		return "", fmt.Errorf("write sshd_config: %w", err)
	}
	output, err := exec.CommandContext(ctx, bin, "-t", "-f", configPath).CombinedOutput()
	return strings.TrimSpace(string(output)), err
}

// launch writes the config for cfg.Port, starts sshd and waits until it
// accepts the client key. It returns an error wrapping errPortInUse when the
// port was taken.
func (s *Server) launch(ctx context.Context, bin string, cfg serverConfig) error {
	if err := os.WriteFile(s.configPath(), []byte(cfg.render()), 0o644); err != nil {
		return fmt.Errorf("write sshd_config: %w", err)
	}
	logFile, err := os.OpenFile(s.LogFile, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create sshd log: %w", err)
	}
	defer logFile.Close()

	// -D keeps sshd in the foreground as the child of this process, and -e
	// sends its log to standard error instead of syslog.
	cmd := exec.Command(bin, "-D", "-e", "-f", s.configPath())
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = processAttributes()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.cmd = cmd
	s.exited = exited
	s.setAddr(cfg.Port)

	err = s.waitReady(ctx)
	if err != nil {
		s.terminate()
		s.cmd = nil
	}
	return err
}

// waitReady probes the server until a client handshake succeeds, sshd exits,
// or ctx is done.
func (s *Server) waitReady(ctx context.Context) error {
	var lastErr error
	for {
		select {
		case <-s.exited:
			log := s.logTail()
			if strings.Contains(log, "Address already in use") {
				return fmt.Errorf("sshd on port %d: %w", s.Port, errPortInUse)
			}
			return fmt.Errorf("sshd exited during start: %s", log)
		case <-ctx.Done():
			return fmt.Errorf("sshd on %s not ready: %w (last probe: %v); log: %s",
				s.Addr, ctx.Err(), lastErr, s.logTail())
		default:
		}

		lastErr = s.handshake(handshakeTimeout)
		if lastErr == nil {
			return nil
		}
		select {
		case <-time.After(probeInterval):
		case <-ctx.Done():
		}
	}
}

// logTail returns the end of sshd's log for error messages.
func (s *Server) logTail() string {
	f, err := os.Open(s.LogFile)
	if err != nil {
		return fmt.Sprintf("(log unavailable: %v)", err)
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.Size() > logTailBytes {
		_, _ = f.Seek(-logTailBytes, io.SeekEnd)
	}
	tail, _ := io.ReadAll(f)
	return string(bytes.TrimSpace(tail))
}
