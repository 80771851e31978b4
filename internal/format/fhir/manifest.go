package fhir

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Output is one file of a Bulk Data manifest.
type Output struct {
	// Type is the resource type the file holds.
	Type string
	// URL is the location the partner fetches the file from: an https URL
	// for the partner API, or the file name for files delivered to a
	// folder or an SFTP server.
	URL string
	// Count is the number of resources in the file.
	Count int64
}

type manifest struct {
	TransactionTime     string           `json:"transactionTime"`
	Request             string           `json:"request"`
	RequiresAccessToken bool             `json:"requiresAccessToken"`
	Output              []manifestOutput `json:"output"`
	Error               []manifestOutput `json:"error"`
}

type manifestOutput struct {
	Type  string `json:"type"`
	URL   string `json:"url"`
	Count int64  `json:"count"`
}

// Manifest returns the JSON manifest of a Bulk Data export, in the shape
// of the FHIR Bulk Data Access specification's response to a completed
// export. transactionTime is when the snapshot was taken;
// request names what was exported. requiresAccessToken is true when any
// URL is http or https, because AxTract serves those only to an
// authenticated partner, and false for files delivered to the partner.
func Manifest(transactionTime time.Time, request string, outputs []Output) ([]byte, error) {
	if transactionTime.IsZero() {
		return nil, fmt.Errorf("fhir manifest: transactionTime is missing")
	}
	if request == "" {
		return nil, fmt.Errorf("fhir manifest: request is missing; name the feed or the URL that asked for the export")
	}
	m := manifest{
		TransactionTime: transactionTime.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
		Request:         request,
		Output:          []manifestOutput{},
		Error:           []manifestOutput{},
	}
	for i, o := range outputs {
		if !slices.Contains(resourceTypes, o.Type) {
			return nil, fmt.Errorf("fhir manifest: output %d has type %q; use one of %v", i+1, o.Type, resourceTypes)
		}
		if o.URL == "" {
			return nil, fmt.Errorf("fhir manifest: output %d (%s) has no URL", i+1, o.Type)
		}
		if o.Count < 0 {
			return nil, fmt.Errorf("fhir manifest: output %d (%s) has count %d; counts cannot be negative", i+1, o.Type, o.Count)
		}
		if isHTTP(o.URL) {
			m.RequiresAccessToken = true
		}
		m.Output = append(m.Output, manifestOutput(o))
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("fhir manifest: %w", err)
	}
	return append(b, '\n'), nil
}

func isHTTP(url string) bool {
	return len(url) >= 7 && url[:7] == "http://" || len(url) >= 8 && url[:8] == "https://"
}
