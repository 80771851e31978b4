package sftp

import (
	"errors"
	"fmt"
	"os"
	"path"

	"github.com/axtract/axtract/internal/deliver"
)

// replace renames tempPath to finalPath, replacing a file already there.
func (d *destination) replace(tempPath, finalPath, name string) error {
	if d.posixRename {
		// posix-rename@openssh.com is rename(2) on the server, which replaces
		// the target atomically.
		if err := d.client.PosixRename(tempPath, finalPath); err != nil {
			return classify(fmt.Errorf("SFTP rename %s to %s on %s: %w", tempPath, finalPath, d.addr, err))
		}
		return nil
	}
	return d.replaceWithPlainRename(tempPath, finalPath, name)
}

// replaceWithPlainRename replaces finalPath using only SSH_FXP_RENAME, which
// OpenSSH and most other servers reject when the target exists. An existing
// file is first renamed aside to .name.<random>.old, then tempPath is renamed
// into place and the old file is removed. Between the two renames, one round
// trip, a reader finds no file under the final name, but never a partial
// one. When the second rename fails, the old file is moved back.
func (d *destination) replaceWithPlainRename(tempPath, finalPath, name string) error {
	_, err := d.client.Lstat(finalPath)
	if errors.Is(err, os.ErrNotExist) {
		if err := d.client.Rename(tempPath, finalPath); err != nil {
			return classify(fmt.Errorf("SFTP rename %s to %s on %s: %w", tempPath, finalPath, d.addr, err))
		}
		return nil
	}
	if err != nil {
		return classify(fmt.Errorf("SFTP stat %s on %s: %w", finalPath, d.addr, err))
	}

	asidePath := path.Join(d.cfg.Dir, deliver.AsideName(name))
	if err := d.client.Rename(finalPath, asidePath); err != nil {
		return classify(fmt.Errorf("SFTP rename existing %s aside to %s on %s: %w", finalPath, asidePath, d.addr, err))
	}
	if err := d.client.Rename(tempPath, finalPath); err != nil {
		renameErr := classify(fmt.Errorf("SFTP rename %s to %s on %s: %w", tempPath, finalPath, d.addr, err))
		if restoreErr := d.client.Rename(asidePath, finalPath); restoreErr != nil {
			return errors.Join(renameErr, fmt.Errorf("SFTP restore previous %s from %s on %s failed, "+
				"rename it back by hand: %w", finalPath, asidePath, d.addr, restoreErr))
		}
		return renameErr
	}
	if err := d.client.Remove(asidePath); err != nil {
		// The new file is in place, so the delivery succeeded. The old one
		// stays under a dot name that partners skip.
		d.cfg.Logger.Warn("SFTP remove of replaced file failed",
			"addr", d.addr, "path", asidePath, "error", err)
	}
	return nil
}
