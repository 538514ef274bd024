// Package views holds Closr's templ components. Components take plain structs
// built by the handlers; they never reach the store.
package views

import "encoding/json"

// Page is what every full page needs.
type Page struct {
	Title string
	CSRF  string
	Agent *Agent // nil when signed out
	Nav   string // the current page: "leads", or a Settings page ("integrations", "team", "activity", "profile")
}

// Agent is the signed-in agent as the layout shows them.
type Agent struct {
	Name     string
	TeamName string
}

// Form holds a submitted form's values and a message per field to fix.
type Form struct {
	Values map[string]string
	Errors map[string]string
	Error  string // a message for the whole form
}

// Value returns the submitted value of field name.
func (f Form) Value(name string) string { return f.Values[name] }

// csrfHeaders is the hx-headers value that makes HTMX send the CSRF token.
func csrfHeaders(token string) string {
	b, _ := json.Marshal(map[string]string{"X-CSRF-Token": token})
	return string(b)
}

// htmxConfig turns off what CSP forbids (eval, injected styles) and lets
// HTMX swap 422 answers, which carry the card with its message; other errors
// are shown by app.js in an alert.
const htmxConfig = `{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,` +
	`"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},` +
	`{"code":"422","swap":true,"error":false},{"code":"[45]..","swap":false,"error":true}]}`
