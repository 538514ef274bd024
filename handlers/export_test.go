package handlers

import "time"

// HoldHashSlots makes requests wait up to wait for a password hash slot,
// then takes every slot until release is called, so tests can line up
// parallel requests or see the 503. Call it before sending requests.
func (s *Server) HoldHashSlots(wait time.Duration) (release func()) {
	s.hashes.wait = wait
	for range cap(s.hashes.c) {
		s.hashes.c <- struct{}{}
	}
	return func() {
		for range cap(s.hashes.c) {
			<-s.hashes.c
		}
	}
}

// PasswordHashes is how many password hashes (and checks) have run.
func (s *Server) PasswordHashes() int64 { return s.hashes.runs.Load() }

const RefusedLogBudget = refusedLogBudget

// SetMCPAnswerCap lowers the cap on an MCP answer's size.
func (s *Server) SetMCPAnswerCap(n int) { s.mcpAnswerCap = n }
