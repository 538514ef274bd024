package handlers

import (
	"strconv"
	"strings"
)

// preferHTML reports whether an Accept header ranks text/html above
// application/json, as browsers' headers do and API clients' do not.
func preferHTML(accept string) bool {
	html, json := acceptQ(accept, "text/html"), acceptQ(accept, "application/json")
	return html > 0 && html > json
}

// acceptQ returns the quality an Accept header gives to a media type, taking
// the most specific matching range (type/sub, then type/*, then */*).
func acceptQ(accept, mediaType string) float64 {
	major, _, _ := strings.Cut(mediaType, "/")
	best, bestSpec := 0.0, -1
	for _, part := range strings.Split(accept, ",") {
		fields := strings.Split(part, ";")
		rng := strings.ToLower(strings.TrimSpace(fields[0]))
		spec := -1
		switch rng {
		case mediaType:
			spec = 2
		case major + "/*":
			spec = 1
		case "*/*":
			spec = 0
		}
		if spec < bestSpec || spec < 0 {
			continue
		}
		q := 1.0
		for _, p := range fields[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "q") {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
		}
		best, bestSpec = q, spec
	}
	return best
}
