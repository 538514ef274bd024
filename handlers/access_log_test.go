package handlers_test

import (
	"strings"
	"testing"

	"closr/handlers"
)

// TestAccessLogErrorsOnly: with LogErrorsOnly (--access-log errors) a
// request answered below 400 writes no line, and failed ones still do; by
// default every request does.
func TestAccessLogErrorsOnly(t *testing.T) {
	t.Parallel()
	for _, errorsOnly := range []bool{false, true} {
		e := newEnvWith(t, envOptions{config: func(c *handlers.Config) { c.LogErrorsOnly = errorsOnly }})
		c := e.client()
		c.get("/healthz")
		c.get("/login")
		c.get("/nowhere")
		e.postLead("closr_"+strings.Repeat("x", 43), `{"email":"x@example.com"}`)
		log := e.log.String()
		for _, tc := range []struct {
			line   string
			logged bool
		}{
			{`path=/healthz status=200`, !errorsOnly},
			{`path=/login status=200`, !errorsOnly},
			{`path=/nowhere status=404`, true},
			{`path=/api/leads/inbound status=401`, true},
		} {
			if strings.Contains(log, tc.line) != tc.logged {
				t.Errorf("errors only %v: a line with %q logged = %v, want %v\n%s", errorsOnly, tc.line, !tc.logged, tc.logged, log)
			}
		}
	}
}
