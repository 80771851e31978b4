// Package notify reports runs to people and programs: email notices from
// the axtract.notification outbox over SMTP, and signed webhook requests
// from axtract.webhook_delivery.
//
// Neither carries member data. Notices and webhook bodies are built from
// the control schema alone (feed, partner, run, file names, counts, sizes
// and checksums). Error texts of failed runs are left out, because a
// PostgreSQL error can quote a value it failed on.
package notify

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Security modes of the SMTP connection.
const (
	// SecurityStartTLS connects in plain text and upgrades with STARTTLS
	// before anything else; a server without STARTTLS is an error.
	SecurityStartTLS = "starttls"
	// SecurityTLS speaks TLS from the first byte (implicit TLS, usually
	// port 465).
	SecurityTLS = "tls"
	// SecurityNone sends in plain text. Use it only for a relay on the same
	// host.
	SecurityNone = "none"
)

// SMTPConfig is the mail server and sign-in that email notices use.
type SMTPConfig struct {
	// Addr is the server's host:port. Empty turns email off.
	Addr string
	// From is the envelope sender and From header.
	From string
	// Security is starttls (default), tls or none.
	Security string
	// Username turns on authentication; the password is the content of
	// PasswordFile, without a trailing newline.
	Username     string
	PasswordFile string
	// Auth is the SASL mechanism: plain (default) or login.
	Auth string
	// HelloName is the name sent in EHLO. Default: localhost.
	HelloName string
	// Timeout bounds one message: connecting, TLS, authentication and
	// sending. Default: 30 seconds.
	Timeout time.Duration
	// TLS is the client TLS configuration; nil verifies the server against
	// the system roots under the host name of Addr.
	TLS *tls.Config
}

// BindFlags defines the SMTP flags on fs, each defaulting to its
// environment variable as getenv returns it, and returns the config the
// flags fill in when fs is parsed.
//
//	--smtp-addr           AXTRACT_SMTP_ADDR           host:port; empty turns email off
//	--smtp-from           AXTRACT_SMTP_FROM           sender address
//	--smtp-security       AXTRACT_SMTP_SECURITY       starttls, tls or none (default starttls)
//	--smtp-username       AXTRACT_SMTP_USERNAME       user for AUTH; empty sends no AUTH
//	--smtp-password-file  AXTRACT_SMTP_PASSWORD_FILE  file that holds the password
//	--smtp-auth           AXTRACT_SMTP_AUTH           plain or login (default plain)
//	--smtp-hello          AXTRACT_SMTP_HELLO          EHLO name (default localhost)
func BindFlags(fs *flag.FlagSet, getenv func(string) string) *SMTPConfig {
	c := &SMTPConfig{}
	or := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.Addr, "smtp-addr", getenv("AXTRACT_SMTP_ADDR"), "SMTP server host:port for email notices; empty turns email off (env AXTRACT_SMTP_ADDR)")
	fs.StringVar(&c.From, "smtp-from", getenv("AXTRACT_SMTP_FROM"), "sender address of email notices (env AXTRACT_SMTP_FROM)")
	fs.StringVar(&c.Security, "smtp-security", or("AXTRACT_SMTP_SECURITY", SecurityStartTLS), "starttls, tls (implicit TLS) or none (env AXTRACT_SMTP_SECURITY)")
	fs.StringVar(&c.Username, "smtp-username", getenv("AXTRACT_SMTP_USERNAME"), "SMTP AUTH user; empty sends no AUTH (env AXTRACT_SMTP_USERNAME)")
	fs.StringVar(&c.PasswordFile, "smtp-password-file", getenv("AXTRACT_SMTP_PASSWORD_FILE"), "file holding the SMTP AUTH password (env AXTRACT_SMTP_PASSWORD_FILE)")
	fs.StringVar(&c.Auth, "smtp-auth", or("AXTRACT_SMTP_AUTH", "plain"), "SMTP AUTH mechanism: plain or login (env AXTRACT_SMTP_AUTH)")
	fs.StringVar(&c.HelloName, "smtp-hello", or("AXTRACT_SMTP_HELLO", "localhost"), "name sent in EHLO (env AXTRACT_SMTP_HELLO)")
	return c
}

// Enabled reports whether an SMTP server is configured.
func (c *SMTPConfig) Enabled() bool { return c != nil && c.Addr != "" }

// Validate checks the config without connecting.
func (c *SMTPConfig) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("invalid SMTP address %q: use host:port, such as smtp.example.org:587", c.Addr)
	}
	if !strings.Contains(c.From, "@") || strings.ContainsAny(c.From, "\r\n<> ") {
		return fmt.Errorf("invalid SMTP sender %q: set AXTRACT_SMTP_FROM to an address such as axtract@example.org", c.From)
	}
	switch c.security() {
	case SecurityStartTLS, SecurityTLS, SecurityNone:
	default:
		return fmt.Errorf("invalid SMTP security %q: use starttls, tls or none", c.Security)
	}
	switch c.auth() {
	case "plain", "login":
	default:
		return fmt.Errorf("invalid SMTP auth mechanism %q: use plain or login", c.Auth)
	}
	if c.Username != "" && c.PasswordFile == "" {
		return errors.New("SMTP username set without a password file: set AXTRACT_SMTP_PASSWORD_FILE")
	}
	if c.Username != "" && c.security() == SecurityNone && !isLoopback(c.Addr) {
		return fmt.Errorf("SMTP AUTH to %s without TLS would send the password in plain text: use --smtp-security starttls or tls", c.Addr)
	}
	return nil
}

func (c *SMTPConfig) security() string {
	if c.Security == "" {
		return SecurityStartTLS
	}
	return strings.ToLower(c.Security)
}

func (c *SMTPConfig) auth() string {
	if c.Auth == "" {
		return "plain"
	}
	return strings.ToLower(c.Auth)
}

// send delivers one message to recipients.
func (c *SMTPConfig) send(ctx context.Context, recipients []string, message io.Reader) error {
	if err := c.Validate(); err != nil {
		return err
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	host, _, _ := net.SplitHostPort(c.Addr)
	tlsConfig := c.TLS
	if tlsConfig == nil {
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if tlsConfig.ServerName == "" {
		tlsConfig = tlsConfig.Clone()
		tlsConfig.ServerName = host
	}

	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("connect to SMTP server %s: %w", c.Addr, err)
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	// Closing the connection is what interrupts a blocked read when the
	// context ends before the deadline.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	var client *smtp.Client
	switch c.security() {
	case SecurityTLS:
		client = smtp.NewClient(tls.Client(conn, tlsConfig))
	case SecurityStartTLS:
		client, err = smtp.NewClientStartTLS(conn, tlsConfig)
		if err != nil {
			conn.Close()
			return fmt.Errorf("STARTTLS with SMTP server %s: %w", c.Addr, err)
		}
	default:
		client = smtp.NewClient(conn)
	}
	defer client.Close()
	if err := client.Hello(cmp.Or(c.HelloName, "localhost")); err != nil {
		return fmt.Errorf("EHLO to SMTP server %s: %w", c.Addr, err)
	}
	if c.Username != "" {
		if err := c.authenticate(client); err != nil {
			return err
		}
	}
	if err := client.SendMail(c.From, recipients, message); err != nil {
		return fmt.Errorf("send through SMTP server %s: %w", c.Addr, err)
	}
	if err := client.Quit(); err != nil {
		return fmt.Errorf("QUIT to SMTP server %s: %w", c.Addr, err)
	}
	return nil
}

func (c *SMTPConfig) authenticate(client *smtp.Client) error {
	raw, err := os.ReadFile(c.PasswordFile)
	if err != nil {
		return fmt.Errorf("read SMTP password: %w", err)
	}
	password := strings.TrimRight(string(raw), "\r\n")
	var mech sasl.Client
	switch c.auth() {
	case "login":
		mech = sasl.NewLoginClient(c.Username, password)
	default:
		mech = sasl.NewPlainClient("", c.Username, password)
	}
	// The server's reply can quote the mechanism but never the password,
	// so it is safe to wrap.
	if err := client.Auth(mech); err != nil {
		return fmt.Errorf("AUTH %s as %s at SMTP server %s: %w", strings.ToUpper(c.auth()), c.Username, c.Addr, err)
	}
	return nil
}

// isLoopback reports whether addr's host is a loopback address or localhost.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
