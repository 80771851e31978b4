package database

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// PrivateCluster is a PostgreSQL cluster that AxTract initialised in a
// directory of its own and started on 127.0.0.1.
type PrivateCluster struct {
	DataDir  string
	Port     int
	AdminURL string
	binDir   string
	runAs    *syscall.Credential
}

// PrivateClusterDir returns the default directory of the private cluster:
// AXTRACT_DATA_DIR when set, else a folder under the user's data directory.
// Root gets a folder under /var/tmp, because the server then runs as the
// postgres user, which cannot enter root's home.
func PrivateClusterDir() string {
	if dir := os.Getenv("AXTRACT_DATA_DIR"); dir != "" {
		return filepath.Join(dir, "pgdata")
	}
	if os.Geteuid() == 0 {
		return "/var/tmp/axtract/pgdata"
	}
	if dir := os.Getenv("XDG_DATA_HOME"); dir != "" {
		return filepath.Join(dir, "axtract", "pgdata")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "axtract", "pgdata")
	}
	return filepath.Join(home, ".local", "share", "axtract", "pgdata")
}

// FindServerBinaries returns the directory holding initdb, pg_ctl and
// postgres: PG_BINDIR, then pg_config --bindir, then PATH, then the newest
// /usr/lib/postgresql/<version>/bin.
func FindServerBinaries() (string, error) {
	has := func(dir string) bool {
		for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
			if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
				return false
			}
		}
		return true
	}
	if dir := os.Getenv("PG_BINDIR"); dir != "" {
		if has(dir) {
			return dir, nil
		}
		return "", fmt.Errorf("PG_BINDIR=%s does not contain initdb, pg_ctl and postgres; point it at the server's bin directory", dir)
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); has(dir) {
			return dir, nil
		}
	}
	if path, err := exec.LookPath("initdb"); err == nil {
		if resolved, err := filepath.EvalSymlinks(path); err == nil && has(filepath.Dir(resolved)) {
			return filepath.Dir(resolved), nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(matches, func(i, j int) bool { return versionOf(matches[i]) > versionOf(matches[j]) })
	for _, dir := range matches {
		if versionOf(dir) >= 15 && has(dir) {
			return dir, nil
		}
	}
	return "", ErrNoServerBinaries
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// StartPrivateCluster initialises dir when it holds no cluster, starts the
// server on a free loopback port when it is not running, and returns it.
func StartPrivateCluster(ctx context.Context, dir string, logger *slog.Logger) (*PrivateCluster, error) {
	binDir, err := FindServerBinaries()
	if err != nil {
		return nil, err
	}
	c := &PrivateCluster{DataDir: dir, binDir: binDir}
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root.
		cred, err := serverCredential()
		if err != nil {
			return nil, err
		}
		c.runAs = cred
	}

	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		logger.Info("initialising private PostgreSQL cluster", "data_dir", dir, "bin_dir", binDir)
		if err := c.initdb(); err != nil {
			return nil, err
		}
	}

	if port, ok := c.runningPort(ctx); ok {
		c.setPort(port)
		return c, nil
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	c.setPort(port)
	logFile := filepath.Join(dir, "server.log")
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -c port=%d -c unix_socket_directories=%s", port, dir)
	// The cluster shares this machine's cores with the workers. A parallel
	// query runs its leader and max_parallel_workers_per_gather workers, so
	// more workers than spare cores only make them wait for each other.
	opts += fmt.Sprintf(" -c max_parallel_workers_per_gather=%d", parallelWorkers(runtime.NumCPU()))
	if c.hasLibrary("pgaudit") {
		// AxTract sets pgaudit.log on partner logins when pgaudit is loaded.
		opts += " -c shared_preload_libraries=pgaudit"
	}
	if err := c.run("pg_ctl", "start", "-w", "-t", "60", "-D", dir, "-l", logFile, "-o", opts); err != nil {
		return nil, fmt.Errorf("start private PostgreSQL cluster in %s: %w; see %s", dir, err, logFile)
	}
	if err := os.WriteFile(filepath.Join(dir, "axtract.port"), []byte(strconv.Itoa(port)), 0o644); err != nil {
		return nil, fmt.Errorf("record port of private cluster: %w", err)
	}
	logger.Info("started private PostgreSQL cluster", "data_dir", dir, "port", port)
	return c, nil
}

// Stop shuts the cluster down with pg_ctl's fast mode.
func (c *PrivateCluster) Stop() error {
	return c.run("pg_ctl", "stop", "-w", "-m", "fast", "-D", c.DataDir)
}

func (c *PrivateCluster) setPort(port int) {
	c.Port = port
	c.AdminURL = fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=postgres sslmode=disable", port)
}

func (c *PrivateCluster) initdb() error {
	if err := os.MkdirAll(filepath.Dir(c.DataDir), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(c.DataDir), err)
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", c.DataDir, err)
	}
	if c.runAs != nil {
		if err := os.Chown(c.DataDir, int(c.runAs.Uid), int(c.runAs.Gid)); err != nil {
			return fmt.Errorf("hand %s to the postgres user: %w", c.DataDir, err)
		}
	}
	err := c.run("initdb", "-D", c.DataDir, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8")
	if err != nil {
		return fmt.Errorf("initdb %s: %w", c.DataDir, err)
	}
	return nil
}

// runningPort reports the port of a server already running on dir.
func (c *PrivateCluster) runningPort(ctx context.Context) (int, bool) {
	if c.run("pg_ctl", "status", "-D", c.DataDir) != nil {
		return 0, false
	}
	raw, err := os.ReadFile(filepath.Join(c.DataDir, "axtract.port"))
	if err != nil {
		return 0, false
	}
	port, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		return 0, false
	}
	dsn := fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=postgres sslmode=disable", port)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return port, Ping(pingCtx, dsn) == nil
}

// hasLibrary reports whether the server's package library directory holds
// the loadable module name, such as pgaudit.so.
func (c *PrivateCluster) hasLibrary(name string) bool {
	libDir := filepath.Join(filepath.Dir(c.binDir), "lib")
	if out, err := exec.Command(filepath.Join(c.binDir, "pg_config"), "--pkglibdir").Output(); err == nil {
		libDir = strings.TrimSpace(string(out))
	}
	for _, ext := range []string{".so", ".dylib"} {
		if _, err := os.Stat(filepath.Join(libDir, name+ext)); err == nil {
			return true
		}
	}
	return false
}

func (c *PrivateCluster) run(name string, args ...string) error {
	cmd := exec.Command(filepath.Join(c.binDir, name), args...)
	cmd.Dir = os.TempDir()
	if c.runAs != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.runAs}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func serverCredential() (*syscall.Credential, error) {
	name := os.Getenv("AXTRACT_PG_OS_USER")
	if name == "" {
		name = "postgres"
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL refuses to run as root and OS user %q was not found: %w; create it (useradd --system %s) or set AXTRACT_PG_OS_USER", name, err, name)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port for the private cluster: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// parallelWorkers returns max_parallel_workers_per_gather for a server on
// a machine of cores cores: one core for the leader, at most PostgreSQL's
// default of 2 for the workers.
func parallelWorkers(cores int) int {
	return min(max(cores-1, 0), 2)
}
