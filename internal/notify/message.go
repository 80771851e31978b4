package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
)

// Notice is a row of the axtract.notification outbox.
type Notice struct {
	ID         int64
	Kind       string
	FeedID     *int64
	RunID      *int64
	Recipients []string
	Subject    string
	Detail     []byte
	CreatedAt  time.Time
	Attempts   int
}

// noticeDetail lists every field of a notice's detail that a message may
// show. Fields not named here, such as the error text of a failed run,
// never reach a message.
type noticeDetail struct {
	Feed     string       `json:"feed"`
	Partner  string       `json:"partner"`
	Slot     *time.Time   `json:"slot"`
	Rows     *int64       `json:"rows"`
	Bytes    *int64       `json:"bytes"`
	Files    []noticeFile `json:"files"`
	Attempts *int         `json:"attempts"`
	Retry    string       `json:"retry"`
	Deadline *time.Time   `json:"deadline"`
	Status   string       `json:"status"`
	Reason   string       `json:"reason"`
	Runs     []struct {
		RunID int64     `json:"run_id"`
		Slot  time.Time `json:"slot"`
	} `json:"runs"`
	Resume string `json:"resume"`
}

type noticeFile struct {
	Name   string  `json:"name"`
	Kind   string  `json:"kind"`
	Part   *string `json:"part"`
	Rows   *int64  `json:"rows"`
	Bytes  *int64  `json:"bytes"`
	SHA256 string  `json:"sha256"`
}

// Message returns the RFC 5322 message of notice n from sender from, dated
// now.
func Message(n *Notice, from string, now time.Time) ([]byte, error) {
	var d noticeDetail
	if len(n.Detail) > 0 {
		if err := json.Unmarshal(n.Detail, &d); err != nil {
			return nil, fmt.Errorf("parse detail of notification %d: %w", n.ID, err)
		}
	}
	for _, to := range n.Recipients {
		if _, err := mail.ParseAddress(to); err != nil {
			return nil, fmt.Errorf("notification %d: invalid recipient %q: %w; fix the feed's contacts", n.ID, to, err)
		}
	}

	var msg bytes.Buffer
	header := func(name, value string) {
		// Values come from the database; a line break would start a new
		// header, so none may pass.
		value = strings.NewReplacer("\r", " ", "\n", " ").Replace(value)
		fmt.Fprintf(&msg, "%s: %s\r\n", name, value)
	}
	header("From", from)
	header("To", strings.Join(n.Recipients, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", n.Subject))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", fmt.Sprintf("<notice-%d.%d@axtract>", n.ID, n.CreatedAt.UnixNano()))
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	header("Auto-Submitted", "auto-generated")
	header("X-AxTract-Notice", n.Kind)
	msg.WriteString("\r\n")

	qp := quotedprintable.NewWriter(&msg)
	body := strings.ReplaceAll(noticeBody(n, &d), "\n", "\r\n")
	if _, err := qp.Write([]byte(body)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return msg.Bytes(), nil
}

// noticeBody writes the text of a notice from the fields of noticeDetail.
func noticeBody(n *Notice, d *noticeDetail) string {
	var b strings.Builder
	run := "?"
	if n.RunID != nil {
		run = fmt.Sprint(*n.RunID)
	}
	slot := func() {
		if d.Slot != nil {
			fmt.Fprintf(&b, "Slot:    %s\n", d.Slot.UTC().Format("2006-01-02 15:04 MST"))
		}
	}
	switch n.Kind {
	case "run_delivered":
		fmt.Fprintf(&b, "Feed %s delivered run %s to partner %s.\n\n", d.Feed, run, d.Partner)
		slot()
		if d.Rows != nil {
			fmt.Fprintf(&b, "Rows:    %d\n", *d.Rows)
		}
		if len(d.Files) > 0 {
			fmt.Fprintf(&b, "Files:   %d\n\n", len(d.Files))
			for _, f := range d.Files {
				fmt.Fprintf(&b, "  %s\n    kind %s", f.Name, f.Kind)
				if f.Part != nil {
					fmt.Fprintf(&b, ", part %s", *f.Part)
				}
				if f.Rows != nil {
					fmt.Fprintf(&b, ", %d rows", *f.Rows)
				}
				if f.Bytes != nil {
					fmt.Fprintf(&b, ", %d bytes", *f.Bytes)
				}
				fmt.Fprintf(&b, "\n    sha256 %s\n", f.SHA256)
			}
		}
	case "run_failed":
		fmt.Fprintf(&b, "Feed %s: run %s failed", d.Feed, run)
		if d.Attempts != nil {
			fmt.Fprintf(&b, " after %d attempt(s)", *d.Attempts)
		}
		b.WriteString(".\n\n")
		slot()
		fmt.Fprintf(&b, "\nThe error is recorded with the run: axtract feed runs %s shows it.\n", d.Feed)
		if d.Retry != "" {
			fmt.Fprintf(&b, "Retry with: %s\n", d.Retry)
		}
	case "run_late":
		fmt.Fprintf(&b, "Feed %s: run %s was not delivered by its deadline", d.Feed, run)
		if d.Deadline != nil {
			fmt.Fprintf(&b, " of %s", d.Deadline.UTC().Format("2006-01-02 15:04 MST"))
		}
		b.WriteString(".\n\n")
		slot()
		if d.Status != "" {
			fmt.Fprintf(&b, "Status:  %s\n", d.Status)
		}
	case "run_held":
		fmt.Fprintf(&b, "Feed %s: %d run(s) are held and will not deliver until someone acts.\n\n", d.Feed, len(d.Runs))
		fmt.Fprintf(&b, "Reason:  %s\n\n", d.Reason)
		for _, r := range d.Runs {
			fmt.Fprintf(&b, "  run %d, slot %s\n", r.RunID, r.Slot.UTC().Format("2006-01-02 15:04 MST"))
		}
		if d.Resume != "" {
			fmt.Fprintf(&b, "\nResume with: %s\n", d.Resume)
		}
	default:
		fmt.Fprintf(&b, "%s\n", n.Subject)
	}
	b.WriteString("\n-- \nSent by AxTract. Notices name feeds, files and counts, never member data.\n")
	return b.String()
}
