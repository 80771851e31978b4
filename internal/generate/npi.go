package generate

import "strconv"

// npiPrefix is the ISO 7812 issuer prefix of the NPI. CMS computes the NPI
// check digit with the Luhn formula over 80840 followed by the first nine
// digits of the NPI.
const npiPrefix = "80840"

// npiBases is the number of distinct NPIs npiFor produces: every base
// number 100000000..199999999 appears once.
const npiBases = 100_000_000

// npiFor returns a valid NPI for entity n (0 <= n < npiBases), distinct for
// distinct n under one offset. The base is an affine permutation of n, so
// NPIs look scattered rather than counted.
func npiFor(n int, offset uint64) string {
	// 48271 is odd and not a multiple of 5, so it is coprime to 10^8 and
	// the map is a bijection.
	base := 100_000_000 + (uint64(n)*48271+offset)%npiBases
	digits := strconv.FormatUint(base, 10)
	return digits + string(rune('0'+npiCheckDigit(digits)))
}

// npiCheckDigit returns the Luhn check digit of the nine-digit NPI base.
func npiCheckDigit(base string) int {
	return luhnCheckDigit(npiPrefix + base)
}

// validNPI reports whether npi is ten digits whose last is the Luhn check
// digit of the first nine under the 80840 prefix.
func validNPI(npi string) bool {
	if len(npi) != 10 {
		return false
	}
	for i := 0; i < len(npi); i++ {
		if npi[i] < '0' || npi[i] > '9' {
			return false
		}
	}
	return int(npi[9]-'0') == npiCheckDigit(npi[:9])
}

// luhnCheckDigit returns the digit that makes payload followed by it pass
// the Luhn check: digits are doubled from the rightmost one of the payload,
// every second one, with the digits of each product summed.
func luhnCheckDigit(payload string) int {
	sum := 0
	double := true
	for i := len(payload) - 1; i >= 0; i-- {
		d := int(payload[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return (10 - sum%10) % 10
}
