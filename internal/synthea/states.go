package synthea

import "strings"

// stateCodes maps the names of US states, the District of Columbia and the
// inhabited territories, in lower case, to their two-letter USPS codes.
// Synthea writes patients' and organizations' states as names and payers'
// as codes; the mart keeps codes, as generated data and X12 834 do.
var stateCodes = map[string]string{
	"alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
	"colorado": "CO", "connecticut": "CT", "delaware": "DE", "district of columbia": "DC",
	"florida": "FL", "georgia": "GA", "hawaii": "HI", "idaho": "ID", "illinois": "IL",
	"indiana": "IN", "iowa": "IA", "kansas": "KS", "kentucky": "KY", "louisiana": "LA",
	"maine": "ME", "maryland": "MD", "massachusetts": "MA", "michigan": "MI", "minnesota": "MN",
	"mississippi": "MS", "missouri": "MO", "montana": "MT", "nebraska": "NE", "nevada": "NV",
	"new hampshire": "NH", "new jersey": "NJ", "new mexico": "NM", "new york": "NY",
	"north carolina": "NC", "north dakota": "ND", "ohio": "OH", "oklahoma": "OK", "oregon": "OR",
	"pennsylvania": "PA", "rhode island": "RI", "south carolina": "SC", "south dakota": "SD",
	"tennessee": "TN", "texas": "TX", "utah": "UT", "vermont": "VT", "virginia": "VA",
	"washington": "WA", "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY",
	"american samoa": "AS", "guam": "GU", "northern mariana islands": "MP", "puerto rico": "PR",
	"u.s. virgin islands": "VI", "united states virgin islands": "VI",
}

// stateKind is a US state as a two-letter code. A state's name becomes its
// code; a code, or any other value, is kept as written.
var stateKind = kind{"text", func(field string) (any, error) {
	if code, ok := stateCodes[strings.ToLower(strings.TrimSpace(field))]; ok {
		return code, nil
	}
	return field, nil
}}
