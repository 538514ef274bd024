package closr_test

import (
	"bytes"
	"compress/gzip"
	"testing"

	"closr"
)

// TestTrackerSizeBudget keeps the tracker at most 1,024 bytes gzipped, as
// the README promises (measured like `gzip -9 -c static/t.js | wc -c`).
func TestTrackerSizeBudget(t *testing.T) {
	js, err := closr.Static.ReadFile("static/t.js")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(js)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if len(js) == 0 || buf.Len() > 1024 {
		t.Fatalf("static/t.js is %d bytes gzipped (%d raw); the budget is 1024", buf.Len(), len(js))
	}
	t.Logf("static/t.js: %d bytes, %d gzipped", len(js), buf.Len())
}
