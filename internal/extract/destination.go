package extract

import (
	"context"
	"encoding/json"
	"fmt"
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

// OpenDestination opens a destination of kind sftp or local from its
// stored JSON config.
func OpenDestination(ctx context.Context, kind string, config []byte) (deliver.Destination, error) {
	switch kind {
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
		return nil, deliver.Permanent(fmt.Errorf("unknown destination kind %q; use sftp or local", kind))
	}
}
