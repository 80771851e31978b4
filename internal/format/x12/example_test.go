package x12_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/format/x12"
)

// An 834 of two made-up members, one line per segment.
func ExampleNew() {
	f, err := x12.New([]byte(`{
		"sender_id": "AXTRACT", "receiver_id": "ACMEPBM", "usage": "P", "newline": true,
		"sponsor": {"name": "Example Employer", "id": "123456789"},
		"payer": {"name": "Example Health Plan", "id": "987654321"},
		"policy_number": "GRP-100"}`))
	if err != nil {
		panic(err)
	}
	cols := []format.Column{
		{Name: "member_id"}, {Name: "subscriber_id"}, {Name: "relationship"}, {Name: "plan_name"},
		{Name: "start_date"}, {Name: "end_date"}, {Name: "first_name"}, {Name: "last_name"},
		{Name: "birth_date"}, {Name: "gender"}, {Name: "address"}, {Name: "city"}, {Name: "state"}, {Name: "zip"},
	}

	info := format.Info{ControlNumber: 1042, Now: time.Date(2026, 12, 4, 6, 0, 0, 0, time.UTC)}
	var out bytes.Buffer
	w, err := f.NewWriter(&out, cols, info)
	if err != nil {
		panic(err)
	}

	rows := [][]string{
		{"0b7e6a52-1111-4c3e-9d7a-000000000001", "S1001", "self", "Gold PPO", "2026-01-01", "",
			"José", "Núñez", "1970-01-02", "M", "1 Main St", "Springfield", "IL", "62701"},
		{"0b7e6a52-1111-4c3e-9d7a-000000000002", "S1001", "child", "Gold PPO", "2026-01-01", "2026-06-30",
			"Ana", "Núñez", "2012-05-06", "F", "1 Main St", "Springfield", "IL", "62701"},
	}
	for _, r := range rows {
		fields := make([][]byte, len(r))
		for i, v := range r {
			if v != "" {
				fields[i] = []byte(v)
			}
		}
		if err := w.WriteRow(fields); err != nil {
			panic(err)
		}
	}

	if err := w.Close(); err != nil {
		panic(err)
	}
	fmt.Print(out.String())
	// Output:
	// ISA*00*          *00*          *ZZ*AXTRACT        *ZZ*ACMEPBM        *261204*0600*^*00501*000001042*0*P*:~
	// GS*BE*AXTRACT*ACMEPBM*20261204*0600*1042*X*005010X220A1~
	// ST*834*1042*005010X220A1~
	// BGN*00*1042*20261204*0600*UT***4~
	// REF*38*GRP-100~
	// N1*P5*EXAMPLE EMPLOYER*FI*123456789~
	// N1*IN*EXAMPLE HEALTH PLAN*FI*987654321~
	// INS*Y*18*030**A~
	// REF*0F*S1001~
	// NM1*IL*1*NUNEZ*JOSE****ZZ*0B7E6A52-1111-4C3E-9D7A-000000000001~
	// N3*1 MAIN ST~
	// N4*SPRINGFIELD*IL*62701~
	// DMG*D8*19700102*M~
	// HD*030**HLT*GOLD PPO~
	// DTP*348*D8*20260101~
	// INS*N*19*030**A~
	// REF*0F*S1001~
	// NM1*IL*1*NUNEZ*ANA****ZZ*0B7E6A52-1111-4C3E-9D7A-000000000002~
	// N3*1 MAIN ST~
	// N4*SPRINGFIELD*IL*62701~
	// DMG*D8*20120506*F~
	// HD*030**HLT*GOLD PPO~
	// DTP*348*D8*20260101~
	// DTP*349*D8*20260630~
	// SE*23*1042~
	// GE*1*1042~
	// IEA*1*000001042~
}
