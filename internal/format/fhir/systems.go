package fhir

import (
	"bytes"
)

// Code system URIs, as FHIR R4 and HL7 terminology name them.
const (
	systemICD10CM  = "http://hl7.org/fhir/sid/icd-10-cm"
	systemICD10PCS = "http://www.cms.gov/Medicare/Coding/ICD10"
	systemSNOMED   = "http://snomed.info/sct"
	systemLOINC    = "http://loinc.org"
	systemRxNorm   = "http://www.nlm.nih.gov/research/umls/rxnorm"
	systemNDC      = "http://hl7.org/fhir/sid/ndc"
	systemCPT      = "http://www.ama-assn.org/go/cpt"
	systemHCPCS    = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
	systemCVX      = "http://hl7.org/fhir/sid/cvx"
	systemUCUM     = "http://unitsofmeasure.org"
)

// systemURI returns the URI of a code system named as the mart names them
// (ICD-10-CM, SNOMED-CT, LOINC, RxNorm, NDC, CPT, HCPCS, CVX), ignoring
// case, dashes and spaces. A value that already is a URI is kept. Any
// other name, and a URI with characters that JSON would need to escape,
// give "" and false, so every URI returned can be written as it is.
func systemURI(name []byte) (string, bool) {
	if bytes.HasPrefix(name, []byte("http://")) || bytes.HasPrefix(name, []byte("https://")) ||
		bytes.HasPrefix(name, []byte("urn:")) {
		for _, c := range name {
			if c <= ' ' || c == '"' || c == '\\' || c >= 0x7f {
				return "", false
			}
		}
		return string(name), true
	}
	var buf [16]byte
	key := buf[:0]
	for _, c := range name {
		switch {
		case c == '-' || c == ' ' || c == '_':
		case c >= 'a' && c <= 'z':
			key = append(key, c-'a'+'A')
		default:
			key = append(key, c)
		}
		if len(key) == len(buf) {
			return "", false
		}
	}
	switch string(key) {
	case "ICD10CM":
		return systemICD10CM, true
	case "ICD10PCS":
		return systemICD10PCS, true
	case "SNOMEDCT", "SNOMED", "SCT":
		return systemSNOMED, true
	case "LOINC":
		return systemLOINC, true
	case "RXNORM":
		return systemRxNorm, true
	case "NDC":
		return systemNDC, true
	case "CPT":
		return systemCPT, true
	case "HCPCS":
		return systemHCPCS, true
	case "CVX":
		return systemCVX, true
	}
	return "", false
}
