package handlers

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// maxSummarySources is how many sources pipeline_summary lists by name;
// the rest are counted together as otherSources.
const maxSummarySources = 20

const otherSources = "(other sources)"

// pipelineSummaryIn is pipeline_summary's input.
type pipelineSummaryIn struct {
	From string `json:"from,omitempty" jsonschema:"first day, YYYY-MM-DD (UTC); with to, instead of days"`
	To   string `json:"to,omitempty" jsonschema:"last day, included, YYYY-MM-DD (UTC); default today"`
	Days int    `json:"days,omitempty" jsonschema:"the last N days including today; ignored when from is given"`
}

// pipelineSummaryOut is pipeline_summary's result.
type pipelineSummaryOut struct {
	From     string     `json:"from"`
	To       string     `json:"to"`
	NewLeads int        `json:"new_leads" jsonschema:"leads created in the period"`
	BySource []countOut `json:"by_source" jsonschema:"new leads per source, most first: the 20 largest, then (other sources) for the rest"`
	ByDay    []countOut `json:"by_day" jsonschema:"new leads per day (UTC), every day of the period"`
}

type countOut struct {
	Source string `json:"source,omitempty"`
	Date   string `json:"date,omitempty"`
	Leads  int    `json:"leads"`
}

func (s *Server) toolPipelineSummary(ctx context.Context, _ *mcp.CallToolRequest, in pipelineSummaryIn) (*mcp.CallToolResult, pipelineSummaryOut, error) {
	caller, err := s.caller(ctx, "pipeline_summary")
	if err != nil {
		return nil, pipelineSummaryOut{}, err
	}
	from, to, err := summaryPeriod(in, s.now().UTC())
	if err != nil {
		return nil, pipelineSummaryOut{}, err
	}
	end := to.AddDate(0, 0, 1)
	bySource, byDay, err := s.store.LeadCounts(ctx, caller.key.TeamID, from, end, maxSummarySources)
	if err != nil {
		return nil, pipelineSummaryOut{}, toolFailed(ctx, "pipeline_summary", err)
	}
	if err := s.stillActive(ctx, caller); err != nil {
		return nil, pipelineSummaryOut{}, err
	}
	out := pipelineSummaryOut{From: from.Format(dateLayout), To: to.Format(dateLayout), BySource: []countOut{}, ByDay: []countOut{}}
	listed := 0
	for _, c := range bySource {
		label := c.Label
		if label == "" {
			label = "(none)"
		}
		out.BySource = append(out.BySource, countOut{Source: label, Leads: c.N})
		listed += c.N
	}
	perDay := map[string]int{}
	for _, c := range byDay {
		perDay[c.Label] = c.N
		out.NewLeads += c.N
	}
	if rest := out.NewLeads - listed; rest > 0 {
		out.BySource = append(out.BySource, countOut{Source: otherSources, Leads: rest})
	}
	for d := from; d.Before(end); d = d.AddDate(0, 0, 1) {
		day := d.Format(dateLayout)
		out.ByDay = append(out.ByDay, countOut{Date: day, Leads: perDay[day]})
	}
	return nil, out, nil
}

// summaryPeriod turns the input into the first and last day (UTC midnights)
// or says what to fix.
func summaryPeriod(in pipelineSummaryIn, now time.Time) (from, to time.Time, err error) {
	today := now.Truncate(24 * time.Hour)
	parse := func(name, v string) (time.Time, error) {
		t, err := time.Parse(dateLayout, strings.TrimSpace(v))
		if err != nil {
			return time.Time{}, fmt.Errorf("%s must be a date like %s (got %q)", name, today.Format(dateLayout), v)
		}
		return t, nil
	}
	to = today
	if in.To != "" {
		if to, err = parse("to", in.To); err != nil {
			return
		}
	}
	switch {
	case in.From != "":
		if from, err = parse("from", in.From); err != nil {
			return
		}
	default:
		from = to.AddDate(0, 0, 1-in.Days)
	}
	if from.After(to) {
		return from, to, fmt.Errorf("from (%s) must not be after to (%s)", from.Format(dateLayout), to.Format(dateLayout))
	}
	if n := int(to.Sub(from).Hours()/24) + 1; n > maxSummaryDays {
		return from, to, fmt.Errorf("the period may be at most %d days (this one has %d); narrow from and to", maxSummaryDays, n)
	}
	return from, to, nil
}
