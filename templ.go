// Package closr is the part of the Closr CRM that the outside world talks to:
// API keys, inbound leads, the web tracker and the MCP server. This root
// package only embeds the static assets; the program is cmd/closr.
package closr

import "embed"

//go:generate go tool templ generate

// Static holds the files served under /static/ and /t.js. The tracker's
// build folder (static/src) is left out.
//
//go:embed static/*.js static/*.css static/*.svg
var Static embed.FS
