package intake

import (
	"regexp"
	"strings"

	"closr/store"
)

// keyPattern matches a Closr API key anywhere in a string.
var keyPattern = regexp.MustCompile(regexp.QuoteMeta(store.KeyPrefix) + `[A-Za-z0-9_-]{43}`)

// keyRedacted replaces every key that would otherwise be stored.
const keyRedacted = store.KeyPrefix + "[redacted]"

// Redact replaces every Closr API key in s.
// Field values arrive decoded, but a value may itself hold an encoded key
// (a URL with one in its query), so it gets the same scan as a raw body.
func Redact(s string) string {
	// A key is spelled with "closr_" literally, or with an escape or a
	// percent sign somewhere in it: most values have neither.
	if !strings.Contains(s, store.KeyPrefix) && strings.IndexAny(s, `\%`) < 0 {
		return s
	}
	if r := RedactBytes([]byte(s)); len(r) != len(s) { // a redaction is always shorter than a key
		return string(r)
	}
	return s
}

// RedactBytes replaces every key in a raw body, however it is spelled:
// literally, with JSON \u00XX escapes (for any character of it), or
// percent-encoded (form bodies). Each spelling of a character is one
// "unit"; a run of units that decodes to a key is replaced as a whole.
func RedactBytes(b []byte) []byte {
	var out []byte // nil until the first key is found
	last := 0
	for i := 0; i < len(b); {
		if c := b[i]; c != 'c' && c != '\\' && c != '%' {
			i++
			continue
		}
		end, ok := keyAt(b, i)
		if !ok {
			i++
			continue
		}
		out = append(out, b[last:i]...)
		out = append(out, keyRedacted...)
		last, i = end, end
	}
	if out == nil {
		return b
	}
	return append(out, b[last:]...)
}

// keyAt reports whether the units from b[i] decode to a key, and where the
// key's spelling ends.
func keyAt(b []byte, i int) (int, bool) {
	for n := 0; n < store.KeyLen; n++ {
		c, next, ok := unitAt(b, i)
		if !ok {
			return 0, false
		}
		if n < len(store.KeyPrefix) {
			if c != store.KeyPrefix[n] {
				return 0, false
			}
		} else if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return 0, false
		}
		i = next
	}
	return i, true
}

// unitAt decodes one spelling of an ASCII character at b[i]: the byte
// itself, a JSON \u00XX escape or a %XX escape.
func unitAt(b []byte, i int) (byte, int, bool) {
	if i >= len(b) {
		return 0, 0, false
	}
	switch b[i] {
	case '\\':
		if i+5 < len(b) && b[i+1] == 'u' && b[i+2] == '0' && b[i+3] == '0' {
			if v, ok := unhex(b[i+4], b[i+5]); ok {
				return v, i + 6, true
			}
		}
		return 0, 0, false
	case '%':
		if i+2 < len(b) {
			if v, ok := unhex(b[i+1], b[i+2]); ok {
				return v, i + 3, true
			}
		}
		return 0, 0, false
	}
	return b[i], i + 1, true
}

func unhex(hi, lo byte) (byte, bool) {
	h, ok1 := hexVal(hi)
	l, ok2 := hexVal(lo)
	return h<<4 | l, ok1 && ok2
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
