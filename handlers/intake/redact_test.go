package intake

import (
	"strings"
	"testing"
)

// TestRedactRawKeys: every spelling of a key in a body is replaced, and
// nothing that is not a whole key is touched.
func TestRedactRawKeys(t *testing.T) {
	t.Parallel()
	tail := strings.Repeat("Ab9_-", 8) + "xyz" // 43 characters
	key := "closr_" + tail
	for _, tc := range []struct{ name, in, want string }{
		{"literal", `{"a":"` + key + `"}`, `{"a":"closr_[redacted]"}`},
		{"two keys", key + "&" + key, "closr_[redacted]&closr_[redacted]"},
		{"JSON escapes", `"\u0063losr\u005F` + tail[:42] + `\u007a"`, `"closr_[redacted]"`},
		{"percent-encoded", "k=closr%5f" + tail + "&e=1", "k=closr_[redacted]&e=1"},
		{"too short", "closr_" + tail[:42] + " x", "closr_" + tail[:42] + " x"},
		{"not base64url", "closr_" + tail[:42] + "%20", "closr_" + tail[:42] + "%20"},
		{"longer run keeps its rest", key + "ZZ", "closr_[redacted]ZZ"},
		{"no key", `{"email":"c@example.com","p":"100%"}`, `{"email":"c@example.com","p":"100%"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(RedactBytes([]byte(tc.in))); got != tc.want {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
			if got := Redact(tc.in); got != tc.want {
				t.Fatalf("Redact got %q", got)
			}
		})
	}
}
