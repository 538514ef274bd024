package main

import (
	"strings"
	"testing"
)

// TestParseFlagsSessionSecretAndProxies: a session secret under 32
// characters and a trusted proxy that is not a CIDR are refused with an
// error saying what to use; unset, long enough and valid values pass.
func TestParseFlagsSessionSecretAndProxies(t *testing.T) {
	long := strings.Repeat("s", 32)
	cases := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string // "" means no error
		proxies int    // ranges parsed when there is no error
	}{
		{"no secret: one is generated", nil, nil, "", 0},
		{"32 characters", nil, []string{"--session-secret", long}, "", 0},
		{"31 characters", nil, []string{"--session-secret", long[1:]}, "at least 32", 0},
		{"short secret from the environment", map[string]string{"CLOSR_SESSION_SECRET": "hunter2"}, nil, "has 7 characters; use at least 32", 0},
		{"proxies", nil, []string{"--trusted-proxies", "10.0.0.0/8,192.0.2.1/32"}, "", 2},
		{"proxy without a prefix length", map[string]string{"CLOSR_TRUSTED_PROXIES": "10.0.0.1"}, nil, "want a CIDR range", 0},
		{"access log for errors", nil, []string{"--access-log", "errors"}, "", 0},
		{"unknown access log", map[string]string{"CLOSR_ACCESS_LOG": "none"}, nil, `is "none"; use all or errors`, 0},
		{"mail", nil, []string{"--smtp-url", "smtp://u:p@mail.example.com:587", "--mail-from", "closr@example.com"}, "", 0},
		{"mail from the environment", map[string]string{"CLOSR_SMTP_URL": "smtp://mail.example.com", "CLOSR_MAIL_FROM": "closr@example.com"}, nil, "", 0},
		{"mail without a sender", map[string]string{"CLOSR_SMTP_URL": "smtp://mail.example.com"}, nil, "--smtp-url needs --mail-from", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CLOSR_SESSION_SECRET", "")
			t.Setenv("CLOSR_TRUSTED_PROXIES", "")
			t.Setenv("CLOSR_ACCESS_LOG", "")
			t.Setenv("CLOSR_SMTP_URL", "")
			t.Setenv("CLOSR_MAIL_FROM", "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cfg, _, err := parseFlags("closr", tc.args)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			if err == nil && len(cfg.proxies) != tc.proxies {
				t.Fatalf("parsed %d proxy ranges, want %d", len(cfg.proxies), tc.proxies)
			}
		})
	}
}
