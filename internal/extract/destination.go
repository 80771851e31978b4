package extract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/axtract/axtract/internal/deliver"
	"github.com/axtract/axtract/internal/deliver/sftp"
)

// SFTPConfig is the config of an sftp destination as stored in
// axtract.destination.config.
type SFTPConfig struct {
	Host               string `json:"host"`
	Port               int    `json:"port"`
	User               string `json:"user"`
	Dir                string `json:"dir"`
	HostKey            string `json:"host_key"`
	PrivateKeyFile     string `json:"private_key_file"`
	PasswordFile       string `json:"password_file"`
	TimeoutSeconds     int    `json:"timeout_seconds"`
	MaxParallelUploads int    `json:"max_parallel_uploads"`
}

// LocalConfig is the config of a local directory destination.
type LocalConfig struct {
	Dir string `json:"dir"`
}

// portalDirMode is the mode of a partner's portal folder: only the AxTract
// service's user may list it, because the server hands files out itself.
const portalDirMode os.FileMode = 0o700

// OpenPartnerDestination opens a destination of partner slug from its kind
// and stored JSON config. A portal destination writes into
// deliver.PortalDir, the partner's folder under the portal's files folder,
// and creates that folder with mode 0700 when it is missing.
func OpenPartnerDestination(ctx context.Context, kind string, config []byte, slug string) (deliver.Destination, error) {
	if kind != "portal" {
		return OpenDestination(ctx, kind, config)
	}
	dir, err := deliver.PortalDir(config, slug)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, portalDirMode); err != nil {
		return nil, fmt.Errorf("create portal folder of partner %s: %w", slug, err)
	}
	return deliver.NewLocal(dir)
}

// OpenDestination opens a destination of kind sftp or local from its
// stored JSON config. A portal destination needs its partner: open it with
// OpenPartnerDestination.
func OpenDestination(ctx context.Context, kind string, config []byte) (deliver.Destination, error) {
	switch kind {
	case "portal":
		return nil, deliver.Permanent(errors.New("a portal destination needs its partner; open it with OpenPartnerDestination"))
	case "local":
		var c LocalConfig
		if err := json.Unmarshal(config, &c); err != nil {
			return nil, deliver.Permanent(fmt.Errorf("parse local destination config: %w", err))
		}
		return deliver.NewLocal(c.Dir)
	case "sftp":
		var c SFTPConfig
		if err := json.Unmarshal(config, &c); err != nil {
			return nil, deliver.Permanent(fmt.Errorf("parse sftp destination config: %w", err))
		}
		if c.Port == 0 {
			c.Port = 22
		}
		return sftp.Dial(ctx, sftp.Config{
			Host:               c.Host,
			Port:               c.Port,
			User:               c.User,
			Dir:                c.Dir,
			HostKey:            c.HostKey,
			PrivateKeyFile:     c.PrivateKeyFile,
			PasswordFile:       c.PasswordFile,
			Timeout:            time.Duration(c.TimeoutSeconds) * time.Second,
			MaxParallelUploads: c.MaxParallelUploads,
		})
	default:
		return nil, deliver.Permanent(fmt.Errorf("unknown destination kind %q; use sftp, local or portal", kind))
	}
}

// CheckDestination checks what axtract.destination_define cannot: that an
// sftp host key parses, and that the files and folders a config names
// exist on this machine and are usable. A host key that does not parse is
// an error, as it fails every run. A missing or unusable file or folder is
// a warning, because the workers may run on another machine.
func CheckDestination(kind string, config []byte) (warnings []string, err error) {
	switch kind {
	case "sftp":
		var c SFTPConfig
		if err := json.Unmarshal(config, &c); err != nil {
			return nil, fmt.Errorf("parse sftp destination config: %w", err)
		}
		if c.HostKey != "" {
			if err := sftp.CheckHostKey(c.HostKey); err != nil {
				return nil, fmt.Errorf("%w; copy the line for the server's key from ssh-keyscan, checked with the partner", err)
			}
		}
		if c.PrivateKeyFile != "" {
			warnings = append(warnings, checkPrivateKeyFile(c.PrivateKeyFile)...)
		}
		if c.PasswordFile != "" {
			if _, err := os.Stat(c.PasswordFile); err != nil {
				warnings = append(warnings, fmt.Sprintf("password file %s cannot be read on this machine (%v), so runs fail until it can", c.PasswordFile, err))
			}
		}
	case "local":
		var c LocalConfig
		if err := json.Unmarshal(config, &c); err != nil {
			return nil, fmt.Errorf("parse local destination config: %w", err)
		}
		if c.Dir != "" {
			if _, err := os.Stat(c.Dir); errors.Is(err, os.ErrNotExist) {
				warnings = append(warnings, fmt.Sprintf("folder %s does not exist on this machine, so runs to it fail until it does (mkdir -p %s)", c.Dir, c.Dir))
			}
		}
	}
	return warnings, nil
}

// checkPrivateKeyFile warns about a private key file that is missing, or
// that SSH cannot use: encrypted with a passphrase, or not a key.
func checkPrivateKeyFile(path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return []string{fmt.Sprintf("private key file %s cannot be read on this machine (%v), so runs fail until it can", path, err)}
	}
	if _, err := ssh.ParsePrivateKey(data); err != nil {
		return []string{fmt.Sprintf("private key file %s is not a usable key (%v); it must be an OpenSSH or PEM private key without a passphrase", path, err)}
	}
	return nil
}
