package store

import "encoding/json"

// MaxCustomBytes bounds a lead's custom fields, as stored JSON: the inbound
// body limit. Every list, lead page and get_lead loads them, and each new
// submission rewrites them, so posting one person again and again with new
// field names must not grow them without end. Every field is kept in full
// in its own submission.
const MaxCustomBytes = 64 << 10

// firstFields returns the first of fs that fit within MaxCustomBytes: a new
// lead's custom fields.
func firstFields(fs []Field) []Field {
	size := len("[]")
	for i, f := range fs {
		if size += pairSize(f) + 1; size > MaxCustomBytes { // and a comma
			return fs[:i]
		}
	}
	return fs
}

// addNewFields returns old with the fields of add whose names it lacks, as
// long as the whole stays within MaxCustomBytes; the values old has stay.
func addNewFields(old, add []Field) []Field {
	size := len(fieldsJSON(old))
	have := make(map[string]bool, len(old)+len(add))
	for _, f := range old {
		have[f.Name] = true
	}
	for _, f := range add {
		if have[f.Name] {
			continue
		}
		if n := pairSize(f) + 1; size+n <= MaxCustomBytes {
			old, size, have[f.Name] = append(old, f), size+n, true
		}
	}
	return old
}

// pairSize is how many bytes f takes in fieldsJSON.
func pairSize(f Field) int {
	b, _ := json.Marshal([2]string{f.Name, f.Value})
	return len(b)
}
