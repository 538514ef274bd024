package store

import "encoding/json"

// MaxCustomBytes bounds a lead's merged custom fields, as stored JSON: the
// inbound body limit. Every list, lead page and get_lead loads them, and
// each new submission rewrites them, so posting one person again and again
// with new field names must not grow them without end. Every field is kept
// in full in its own submission.
const MaxCustomBytes = 64 << 10

// mergeCustom returns old with each field of add set, in first-seen order:
// a known name takes the new value, a new name is added, as long as the
// whole stays within MaxCustomBytes; what does not fit is left out (the
// lead keeps the value it had).
func mergeCustom(old, add []Field) []Field {
	size := len(fieldsJSON(old))
	at := make(map[string]int, len(old))
	for i, f := range old {
		at[f.Name] = i
	}
	for _, f := range add {
		if i, ok := at[f.Name]; ok {
			if grow := pairSize(f) - pairSize(old[i]); size+grow <= MaxCustomBytes {
				old[i].Value, size = f.Value, size+grow
			}
			continue
		}
		if n := pairSize(f) + 1; size+n <= MaxCustomBytes { // and a comma
			at[f.Name] = len(old)
			old, size = append(old, f), size+n
		}
	}
	return old
}

// pairSize is how many bytes f takes in fieldsJSON.
func pairSize(f Field) int {
	b, _ := json.Marshal([2]string{f.Name, f.Value})
	return len(b)
}
