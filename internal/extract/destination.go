package extract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

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
