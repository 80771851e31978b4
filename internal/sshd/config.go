package sshd

import (
	"fmt"
	"strings"
)

// serverConfig contains the values written into the generated sshd_config.
type serverConfig struct {
	Port               int
	HostKeyFile        string
	PidFile            string
	AuthorizedKeysFile string
	User               string
	Root               string
	// DisablePenalties adds "PerSourcePenalties no". Without it, OpenSSH 9.8
	// and later reject connections for a while from an address whose
	// connections failed authentication, which tests do on purpose. Older
	// versions reject the keyword.
	DisablePenalties bool
}

// render returns the sshd_config text. The server listens on 127.0.0.1 only,
// accepts only the generated client key for one user and gives that user
// nothing but SFTP, starting in Root. Files it creates get mode 0640.
func (c serverConfig) render() string {
	lines := []string{
		"AddressFamily inet",
		fmt.Sprintf("ListenAddress 127.0.0.1:%d", c.Port),
		"HostKey " + c.HostKeyFile,
		"PidFile " + c.PidFile,
		"AuthorizedKeysFile " + c.AuthorizedKeysFile,
		"AllowUsers " + c.User,
		"AuthenticationMethods publickey",
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PermitRootLogin prohibit-password",
		"UsePAM no",
		"StrictModes no",
		"AllowTcpForwarding no",
		"AllowStreamLocalForwarding no",
		"AllowAgentForwarding no",
		"X11Forwarding no",
		"PermitTunnel no",
		"PermitUserEnvironment no",
		"PrintMotd no",
		"UseDNS no",
		"Subsystem sftp internal-sftp -u 0027 -d " + c.Root,
		"ForceCommand internal-sftp -u 0027 -d " + c.Root,
	}
	if c.DisablePenalties {
		lines = append(lines, "PerSourcePenalties no")
	}
	return strings.Join(lines, "\n") + "\n"
}

// validateConfigPath returns an error if path cannot be written into
// sshd_config as it is. sshd splits arguments at white space and quotes, and
// expands % tokens in some of them.
func validateConfigPath(label, path string) error {
	if strings.ContainsAny(path, " \t\r\n\"'%#\\") {
		return fmt.Errorf("%s %q: sshd cannot use a path containing white space, quotes, %%, # or backslashes", label, path)
	}
	return nil
}
