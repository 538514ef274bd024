package handlers

// Tool schemas as an assistant sees them: derived from each tool's input
// type, then narrowed with the ranges, defaults and enums the tools enforce,
// so that an assistant reads them from the schema rather than from prose.
// checkArguments enforces the same schema with messages that say what to
// fix, before the SDK's own validation (whose messages read like
// "minimum: 0/1 is less than 1.000000") ever sees a bad call.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// digits is a string argument that may also be sent as a JSON number,
// which it keeps as written: an assistant often sends a phone number as
// one.
type digits string

// UnmarshalJSON takes a string, or a number as its literal text.
func (d *digits) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] != '"' {
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*d = digits(n)
		return nil
	}
	var s string
	err := json.Unmarshal(b, &s)
	*d = digits(s)
	return err
}

// schemaFor is T's schema with narrow applied to its properties. A schema
// that cannot be made is a programming error, which every test would hit.
func schemaFor[T any](narrow func(p map[string]*jsonschema.Schema)) *jsonschema.Schema {
	s, err := jsonschema.For[T](&jsonschema.ForOptions{TypeSchemas: map[reflect.Type]*jsonschema.Schema{
		reflect.TypeFor[digits](): {Types: []string{"string", "number"}},
	}})
	if err != nil {
		panic(fmt.Sprintf("schema of %T: %v", *new(T), err))
	}
	if narrow != nil {
		narrow(s.Properties)
	}
	return s
}

// intRange sets an integer property's bounds and, when def > 0, its default.
func intRange(p *jsonschema.Schema, min, max, def int) {
	p.Minimum = new(float64(min))
	if max > 0 {
		p.Maximum = new(float64(max))
	}
	if def > 0 {
		p.Default = json.RawMessage(fmt.Sprint(def))
	}
}

// checkArguments refuses a tools/call whose arguments break the tool's
// schema, with a tool error that names the argument and what it takes.
func (s *Server) checkArguments(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		call, ok := req.(*mcp.CallToolRequest)
		if !ok || call.Params == nil {
			return next(ctx, method, req)
		}
		if schema := s.toolSchemas[call.Params.Name]; schema != nil {
			if err := argumentsFit(schema, call.Params.Arguments); err != nil {
				return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: err.Error()}}}, nil
			}
		}
		return next(ctx, method, req)
	}
}

// argumentsFit checks arguments against a flat object schema.
func argumentsFit(schema *jsonschema.Schema, arguments json.RawMessage) error {
	args := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(arguments)) > 0 && json.Unmarshal(arguments, &args) != nil {
		return errors.New("arguments must be a JSON object")
	}
	for _, name := range schema.Required {
		if _, ok := args[name]; !ok {
			return fmt.Errorf("%s is required: %s", name, schema.Properties[name].Description)
		}
	}
	names := make([]string, 0, len(args))
	for name := range args {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		p := schema.Properties[name]
		if p == nil {
			known := make([]string, 0, len(schema.Properties))
			for n := range schema.Properties {
				known = append(known, n)
			}
			slices.Sort(known)
			return fmt.Errorf("unknown argument %q: this tool takes %s", name, strings.Join(known, ", "))
		}
		if err := valueFits(name, p, args[name]); err != nil {
			if p.Description != "" {
				return fmt.Errorf("%w: %s", err, p.Description)
			}
			return err
		}
	}
	return nil
}

// valueFits checks one argument against its property's schema.
func valueFits(name string, p *jsonschema.Schema, raw json.RawMessage) error {
	types := p.Types
	if p.Type != "" {
		types = []string{p.Type}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("%s is not valid JSON", name)
	}
	switch v := v.(type) {
	case json.Number:
		switch {
		case slices.Contains(types, "string"):
			return nil // digits: kept as written
		case slices.Contains(types, "integer"):
			n, err := v.Int64()
			if err != nil {
				return fmt.Errorf("%s must be a whole number (got %s)", name, v)
			}
			return inRange(name, p, float64(n), v.String())
		}
	case string:
		switch {
		case !slices.Contains(types, "string"):
		case p.MaxLength != nil && utf8.RuneCountInString(v) > *p.MaxLength:
			return fmt.Errorf("keep %s to %d characters or fewer (this one has %d)", name, *p.MaxLength, utf8.RuneCountInString(v))
		case len(p.Enum) > 0 && !slices.Contains(p.Enum, any(v)):
			return fmt.Errorf("%s must be one of %v (got %q)", name, p.Enum, v)
		default:
			return nil
		}
	case map[string]any:
		switch {
		case !slices.Contains(types, "object"):
		case p.MaxProperties != nil && len(v) > *p.MaxProperties:
			return fmt.Errorf("send at most %d %s (this call has %d)", *p.MaxProperties, name, len(v))
		default:
			return nil
		}
	case nil:
		return fmt.Errorf("%s must not be null: leave it out instead", name)
	}
	return fmt.Errorf("%s must be %s (got %s)", name, strings.Join(types, " or "), raw)
}

// inRange checks a number against the property's minimum and maximum.
func inRange(name string, p *jsonschema.Schema, n float64, text string) error {
	low, high := p.Minimum != nil && n < *p.Minimum, p.Maximum != nil && n > *p.Maximum
	switch {
	case (low || high) && p.Minimum != nil && p.Maximum != nil:
		return fmt.Errorf("%s must be between %v and %v (got %s)", name, *p.Minimum, *p.Maximum, text)
	case low:
		return fmt.Errorf("%s must be %v or more (got %s)", name, *p.Minimum, text)
	case high:
		return fmt.Errorf("%s must be %v or less (got %s)", name, *p.Maximum, text)
	}
	return nil
}
