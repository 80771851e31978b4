package fhir_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/format/fhir"
)

// A research export of one made-up member: a pseudonymous key, a birth
// year and a three-digit ZIP code, with one condition, and its manifest.
func ExampleNew() {
	f, err := fhir.New([]byte(`{"resources": {"Patient": "members_deid", "Condition": "conditions_deid"}}`))
	if err != nil {
		panic(err)
	}
	tables := map[string]struct {
		cols []string
		rows [][]string
	}{
		"Patient": {[]string{"member_key", "birth_date", "gender", "state", "zip"},
			[][]string{{"a3c1e0f2-9d1b-4c5e-8f00-123456789abc", "1980", "F", "MA", "021"}}},
		"Condition": {[]string{"member_key", "onset_date", "code_system", "code"},
			[][]string{{"a3c1e0f2-9d1b-4c5e-8f00-123456789abc", "2024", "ICD-10-CM", "E11.9"}}},
	}

	info := format.Info{RunID: 311, Now: time.Date(2026, 12, 4, 6, 0, 0, 0, time.UTC)}
	var outputs []fhir.Output
	for _, p := range f.(format.MultiFormat).Parts() {
		t := tables[p.Name]
		cols := make([]format.Column, len(t.cols))
		for i, c := range t.cols {
			cols[i] = format.Column{Name: c}
		}
		var out bytes.Buffer
		w, err := p.Format.NewWriter(&out, cols, info)
		if err != nil {
			panic(err)
		}
		for _, r := range t.rows {
			fields := make([][]byte, len(r))
			for i, v := range r {
				fields[i] = []byte(v)
			}
			if err := w.WriteRow(fields); err != nil {
				panic(err)
			}
		}
		if err := w.Close(); err != nil {
			panic(err)
		}
		fmt.Print(out.String())
		outputs = append(outputs, fhir.Output{Type: p.Name, URL: "research-fhir." + p.Name + p.Format.Extension(),
			Count: int64(bytes.Count(out.Bytes(), []byte("\n")))})
	}

	manifest, err := fhir.Manifest(info.Now, "urn:axtract:feed:research-fhir:run:311", outputs)
	if err != nil {
		panic(err)
	}
	fmt.Print(string(manifest))
	// Output:
	// {"resourceType":"Patient","id":"a3c1e0f2-9d1b-4c5e-8f00-123456789abc","identifier":[{"system":"urn:axtract:member","value":"a3c1e0f2-9d1b-4c5e-8f00-123456789abc"}],"gender":"female","birthDate":"1980","address":[{"state":"MA","postalCode":"021"}]}
	// {"resourceType":"Condition","id":"run311-1","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"E11.9"}]},"subject":{"reference":"Patient/a3c1e0f2-9d1b-4c5e-8f00-123456789abc"},"onsetDateTime":"2024"}
	// {
	//   "transactionTime": "2026-12-04T06:00:00.000Z",
	//   "request": "urn:axtract:feed:research-fhir:run:311",
	//   "requiresAccessToken": false,
	//   "output": [
	//     {
	//       "type": "Patient",
	//       "url": "research-fhir.Patient.ndjson",
	//       "count": 1
	//     },
	//     {
	//       "type": "Condition",
	//       "url": "research-fhir.Condition.ndjson",
	//       "count": 1
	//     }
	//   ],
	//   "error": []
	// }
}
