package views

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// KeyDetail is one key's own page: its record, what it did each day of the
// last 30, and its latest requests.
type KeyDetail struct {
	Key      KeyRow
	Requests []RequestRow
	Manage   bool   // the signed-in agent may rename, rotate and revoke
	Label    string // the label input, after an error
	Error    string // what to fix about the label
}

// RequestRow is one of a key's latest requests: no body, no visitor's
// address.
type RequestRow struct {
	At       time.Time
	Endpoint string
	Outcome  string
	Status   int
	From     string
	Test     bool
}

// keyState says whether a key works, in a few words.
func keyState(k KeyRow, c Clock) string {
	switch {
	case k.Revoked:
		return fmt.Sprintf("Revoked %s by %s. Requests with it are refused.", c.dateText(k.Ended), k.RevokedBy)
	case !k.Ended.IsZero():
		return fmt.Sprintf("Expired %s. Requests with it are refused.", c.dateText(k.Ended))
	case k.ReplacedBy != nil:
		return "Active, being replaced by “" + k.ReplacedBy.Label + "”."
	}
	return "Active."
}

// firstUseText is a key's first request, tests aside.
func firstUseText(f FirstUse, c Clock) string {
	if f.At.IsZero() {
		return "Not yet"
	}
	return fmt.Sprintf("%s from %s, %s", f.What, fromText(f.From), c.secondsText(f.At))
}

// usedDays are the days with any use, newest first.
func usedDays(u Usage) []DayUsage {
	var out []DayUsage
	for _, d := range slices.Backward(u.Days) {
		if d.Total() > 0 {
			out = append(out, d)
		}
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
