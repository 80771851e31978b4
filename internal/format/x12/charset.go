package x12

import (
	"unicode/utf8"
)

// fold maps letters with diacritics from Latin-1 and Latin Extended-A, and
// typographic punctuation, to the ASCII text that X12's extended character
// set can carry. Other characters outside ASCII have no X12 form.
var fold = map[rune]string{}

func init() {
	for _, f := range []struct{ ascii, runes string }{
		{"A", "ÀÁÂÃÄÅĀĂĄ"}, {"a", "àáâãäåāăą"}, {"AE", "Æ"}, {"ae", "æ"},
		{"C", "ÇĆĈĊČ"}, {"c", "çćĉċč"}, {"D", "ÐĎĐ"}, {"d", "ðďđ"},
		{"E", "ÈÉÊËĒĔĖĘĚ"}, {"e", "èéêëēĕėęě"}, {"G", "ĜĞĠĢ"}, {"g", "ĝğġģ"},
		{"H", "ĤĦ"}, {"h", "ĥħ"}, {"I", "ÌÍÎÏĨĪĬĮİ"}, {"i", "ìíîïĩīĭįı"},
		{"IJ", "Ĳ"}, {"ij", "ĳ"}, {"J", "Ĵ"}, {"j", "ĵ"}, {"K", "Ķ"}, {"k", "ķĸ"},
		{"L", "ĹĻĽĿŁ"}, {"l", "ĺļľŀł"}, {"N", "ÑŃŅŇŊ"}, {"n", "ñńņňŉŋ"},
		{"O", "ÒÓÔÕÖØŌŎŐ"}, {"o", "òóôõöøōŏő"}, {"OE", "Œ"}, {"oe", "œ"},
		{"R", "ŔŖŘ"}, {"r", "ŕŗř"}, {"S", "ŚŜŞŠ"}, {"s", "śŝşšſ"}, {"ss", "ß"},
		{"T", "ŢŤŦ"}, {"t", "ţťŧ"}, {"TH", "Þ"}, {"th", "þ"},
		{"U", "ÙÚÛÜŨŪŬŮŰŲ"}, {"u", "ùúûüũūŭůűų"}, {"W", "Ŵ"}, {"w", "ŵ"},
		{"Y", "ÝŶŸ"}, {"y", "ýÿŷ"}, {"Z", "ŹŻŽ"}, {"z", "źżž"},
		{"'", "‘’‚′"}, {`"`, "“”„″"}, {"-", "‐‑‒–—"}, {" ", "\u00a0\u2007\u202f"}, {"...", "…"},
	} {
		for _, r := range f.runes {
			fold[r] = f.ascii
		}
	}
}

// badChar is the reason a value cannot be written as it is.
type badChar int

const (
	charOK badChar = iota
	charDelimiter
	charControl
	charOutside
)

// appendValue appends v to dst as an element value: letters with
// diacritics folded to ASCII, lowercase letters uppercased unless
// keepCase, and leading and trailing spaces trimmed. A delimiter, a
// control character or a character with no X12 form is replaced by a
// space when clean is set. Otherwise appendValue stops and returns the
// kind of character it found and the delimiter, if it was one.
func (w *writer) appendValue(dst, v []byte) ([]byte, badChar, byte) {
	start := len(dst)
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case w.delims[c]:
				if !w.opts.Clean {
					return dst, charDelimiter, c
				}
				c = ' '
			case c < 0x20 || c == 0x7f:
				if !w.opts.Clean {
					return dst, charControl, 0
				}
				c = ' '
			case c >= 'a' && c <= 'z' && !w.opts.KeepCase:
				c -= 'a' - 'A'
			}
			dst = append(dst, c)
			continue
		}
		r, size := utf8.DecodeRune(v[i:])
		i += size
		ascii, ok := fold[r]
		if !ok {
			if !w.opts.Clean {
				return dst, charOutside, 0
			}
			ascii = " "
		}
		for k := 0; k < len(ascii); k++ {
			c := ascii[k]
			if c >= 'a' && c <= 'z' && !w.opts.KeepCase {
				c -= 'a' - 'A'
			}
			if w.delims[c] {
				// A folded quote or dash can be a delimiter someone chose.
				if !w.opts.Clean {
					return dst, charDelimiter, c
				}
				c = ' '
			}
			dst = append(dst, c)
		}
	}

	// Trim spaces, which X12 does not allow around a value.
	end := len(dst)
	for end > start && dst[end-1] == ' ' {
		end--
	}
	lead := start
	for lead < end && dst[lead] == ' ' {
		lead++
	}
	if lead > start {
		n := copy(dst[start:], dst[lead:end])
		end = start + n
	}
	return dst[:end], charOK, 0
}
