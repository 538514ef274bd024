package views

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// startTagRE is an element's start tag in a templ file, across lines.
var startTagRE = regexp.MustCompile(`(?s)<[a-z]+\s[^<>]*?>`)

// TestEveryHTMXRequestDisablesItsButton: every element that sends a
// request through HTMX disables its button while the request is in flight
// (app.css then shows it working), so a second press cannot send it
// twice.
func TestEveryHTMXRequestDisablesItsButton(t *testing.T) {
	files, err := filepath.Glob("*.templ")
	if err != nil || len(files) == 0 {
		t.Fatalf("no templ files: %v", err)
	}
	sends := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, tag := range startTagRE.FindAllString(string(b), -1) {
			if !strings.Contains(tag, "hx-post") && !strings.Contains(tag, "hx-delete") {
				continue
			}
			sends++
			if !strings.Contains(tag, "hx-disabled-elt") {
				t.Errorf("%s: %s\nsends a request without disabling its button (hx-disabled-elt)", f, tag)
			}
		}
	}
	if sends < 10 {
		t.Fatalf("found %d elements that send requests: the pattern misses some", sends)
	}
}
