package deliver

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// FilesDirEnv names the environment variable with the folder under which
// portal destinations keep their files when their config gives no dir.
const FilesDirEnv = "AXTRACT_FILES_DIR"

// PortalConfig is the config of a portal destination: files that AxTract
// keeps itself and serves through the partner pull API and portal links.
type PortalConfig struct {
	// Dir is an absolute folder. Empty means the folder that
	// AXTRACT_FILES_DIR names.
	Dir string `json:"dir"`
}

// PortalDir returns the folder that holds partner slug's files of the
// portal destination with the stored JSON config: Dir, or the
// AXTRACT_FILES_DIR folder, followed by the partner's slug. The worker that
// writes the files and the server that reads them both call it, so they
// agree on the place.
func PortalDir(config []byte, slug string) (string, error) {
	var c PortalConfig
	if len(config) > 0 {
		if err := json.Unmarshal(config, &c); err != nil {
			return "", Permanent(fmt.Errorf("parse portal destination config: %w", err))
		}
	}
	dir := c.Dir
	if dir == "" {
		dir = os.Getenv(FilesDirEnv)
	}
	if dir == "" {
		return "", Permanent(errors.New("portal destination has no folder: set " + FilesDirEnv + " for the process that runs the feed (axtract serve or axtract feed run) and for the one that serves downloads, or give the destination a dir"))
	}
	if !filepath.IsAbs(dir) {
		return "", Permanent(fmt.Errorf("portal folder %q is relative; give an absolute path", dir))
	}
	if err := ValidateName(slug); err != nil {
		return "", Permanent(fmt.Errorf("partner slug: %w", err))
	}
	return filepath.Join(dir, slug), nil
}
