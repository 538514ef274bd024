package intake

import "fmt"

// Kind says what is wrong with a submission; handlers turn it into a status.
type Kind int

// The kinds of refusal.
const (
	// Unreadable: the body cannot be read as its Content-Type says.
	Unreadable Kind = iota + 1
	// Unsupported: a Content-Type that carries no lead.
	Unsupported
	// Invalid: the details fail validation; Fields says what to fix.
	Invalid
	// IdempotencyReused: an idempotency key already used with another body.
	IdempotencyReused
	// TooLarge: the lead's fields are larger than MaxBody.
	TooLarge
)

// Error is a refused submission, with a message that says what to fix.
// Nothing was stored.
type Error struct {
	Kind    Kind
	Message string
	Fields  map[string]string // per field, for Invalid
}

func (e *Error) Error() string { return fmt.Sprintf("lead refused (%d): %s", e.Kind, e.Message) }

// InvalidFields is the Invalid error for a message per field to fix.
func InvalidFields(errs map[string]string) *Error {
	return &Error{Kind: Invalid, Message: summary(errs), Fields: errs}
}

// summary is one sentence for a set of field errors.
func summary(errs map[string]string) string {
	if len(errs) == 1 {
		for _, m := range errs {
			return m
		}
	}
	if errs["email"] != "" && errs["email"] == errs["phone"] {
		return errs["email"]
	}
	return "Some fields need fixing; see fields."
}
