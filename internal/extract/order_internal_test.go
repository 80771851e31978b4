package extract

import (
	"strings"
	"testing"

	"github.com/axtract/axtract/internal/format"
)

func TestSortColumnPicksFirstPresent(t *testing.T) {
	cols := []format.Column{{Name: "member_key"}, {Name: "claim_id"}, {Name: "line_number"}}
	if got := sortColumn([]string{"claim_key", "claim_id"}, cols); got != "claim_id" {
		t.Errorf("sortColumn = %q, want claim_id", got)
	}
	if got := sortColumn([]string{"claim_key"}, cols); got != "" {
		t.Errorf("sortColumn of a missing column = %q, want none", got)
	}
	if got := sortColumn(nil, cols); got != "" {
		t.Errorf("sortColumn without candidates = %q, want none", got)
	}
}

func TestSortedCopySQLQuotesColumn(t *testing.T) {
	s := &snapshot{where: " WHERE true"}
	got := s.sortedCopySQL(`"partner_acme"."claims"`, false, `claim"id`)
	want := `COPY (SELECT * FROM "partner_acme"."claims" WHERE true ORDER BY "claim""id") TO STDOUT`
	if got != want {
		t.Errorf("sortedCopySQL = %s, want %s", got, want)
	}
	if plain := s.copySQL(`"partner_acme"."claims"`, true); strings.Contains(plain, "ORDER BY") {
		t.Errorf("copySQL sorts: %s", plain)
	}
}
