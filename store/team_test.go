package store_test

import (
	"closr/store/storetest"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"closr/store"
)

// join invites email to by's team as role and accepts; it returns the new agent.
func join(t testing.TB, db *store.DB, by store.Agent, email, role string) store.Agent {
	t.Helper()
	ctx := context.Background()
	_, token, err := db.CreateInvitation(ctx, by.TeamID, by.ID, email, role)
	if err != nil {
		t.Fatal(err)
	}
	a, err := db.AcceptInvitation(ctx, token, store.NewAgent{Name: "Agent " + email, PasswordHash: []byte("h"), TimeZone: "America/Chicago"})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestOneOwnerUnderConcurrency: the owner hands the team to four admins at
// once, while each admin tries to hand it on and to demote the owner:
// whatever the order, the team ends with exactly one owner, every transfer
// that succeeded is on the audit trail, and the last one names the owner.
// The database itself refuses a second owner.
func TestOneOwnerUnderConcurrency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, path := openDB(t)
	for round := range 3 {
		owner := newTeam(t, db, fmt.Sprintf("owner%d@example.com", round))
		team := []store.Agent{owner}
		for i := range 4 {
			team = append(team, join(t, db, owner, fmt.Sprintf("admin%d.%d@example.com", round, i), store.RoleAdmin))
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		transfers := 0
		try := func(id, by int64, role string) {
			_, err := db.ChangeRole(ctx, owner.TeamID, id, by, role)
			switch {
			case err == nil && role == store.RoleOwner:
				mu.Lock()
				transfers++
				mu.Unlock()
			case err == nil, errors.Is(err, store.ErrForbidden), errors.Is(err, store.ErrOwner):
			default:
				t.Errorf("change role of %d to %s by %d: %v", id, role, by, err)
			}
		}
		for _, a := range team[1:] {
			wg.Go(func() { try(a.ID, owner.ID, store.RoleOwner) })
			wg.Go(func() { try(owner.ID, a.ID, store.RoleAgent) })
			for _, b := range team[1:] {
				if b.ID != a.ID {
					wg.Go(func() { try(b.ID, a.ID, store.RoleOwner) })
				}
			}
		}
		wg.Wait()
		ms, err := db.Members(ctx, owner.TeamID)
		if err != nil {
			t.Fatal(err)
		}
		var owners []string
		for _, m := range ms {
			if m.Role == store.RoleOwner {
				owners = append(owners, m.Name)
			}
		}
		events, err := db.TeamEvents(ctx, owner.TeamID, store.EventFilter{Kind: store.EventsMembers, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var logged []store.TeamEvent
		for _, e := range events {
			if e.Action == "ownership_transferred" {
				logged = append(logged, e)
			}
		}
		if len(owners) != 1 || transfers == 0 || len(logged) != transfers || logged[0].Subject != owners[0] {
			t.Fatalf("round %d: owners %q after %d transfers, %d on the trail (latest to %q); want exactly one owner, the latest transfer's",
				round, owners, transfers, len(logged), logged[0].Subject)
		}
	}

	raw, err := store.OpenRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec("UPDATE agents SET role = 'owner' WHERE role <> 'owner'"); err == nil || !strings.Contains(strings.ToLower(err.Error()), "unique") {
		t.Fatalf("a second owner written straight to the database: err = %v, want a UNIQUE constraint failure", err)
	}
}

// TestConcurrentAcceptOfOneInvitation: sixteen people open one link and
// accept at once: exactly one account is made, the others are told the
// link was used, and nothing of theirs is stored.
func TestConcurrentAcceptOfOneInvitation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := openDB(t)
	owner := newTeam(t, db, "owner@example.com")
	_, token, err := db.CreateInvitation(ctx, owner.TeamID, owner.ID, "bo@example.com", store.RoleAgent)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = db.AcceptInvitation(ctx, token, store.NewAgent{Name: fmt.Sprintf("Bo %d", i), PasswordHash: []byte("h")})
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrInviteUsed):
			t.Fatalf("a losing accept: err = %v, want ErrInviteUsed", err)
		}
	}
	ms, _ := db.Members(ctx, owner.TeamID)
	if won != 1 || len(ms) != 2 {
		t.Fatalf("%d accepts won, team has %d members; want exactly 1 and 2", won, len(ms))
	}
	if ms[1].Email != "bo@example.com" || ms[1].Role != store.RoleAgent {
		t.Fatalf("the new member is %+v, want bo@example.com as an agent", ms[1])
	}
	inv, err := db.Invitation(ctx, token)
	if err != nil || !errors.Is(inv.Usable(time.Now()), store.ErrInviteUsed) {
		t.Fatalf("invitation after accepting: %+v, %v", inv, err)
	}
	if open, _ := db.OpenInvitations(ctx, owner.TeamID); len(open) != 0 {
		t.Fatalf("%d open invitations after the accept, want 0", len(open))
	}
}

// TestInvitationRules: an email with an account, or already invited, is
// refused at invite time; a link works for 7 days, once, and not after it
// is cancelled; only owners and admins invite; a team's invitations are
// its own.
func TestInvitationRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 11, 28, 14, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	db, err := store.OpenWith(ctx, storetest.Addr(t), store.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	owner := newTeam(t, db, "owner@example.com")
	other := newTeam(t, db, "other@example.com")
	agent := join(t, db, owner, "agent@example.com", store.RoleAgent)

	for _, tc := range []struct {
		email string
		by    store.Agent
		want  error
	}{
		{"OTHER@example.com", owner, store.ErrEmailTaken}, // another team's owner
		{"agent@example.com", owner, store.ErrEmailTaken}, // already a member
		{"new@example.com", agent, store.ErrForbidden},    // an agent cannot invite
	} {
		if _, _, err := db.CreateInvitation(ctx, tc.by.TeamID, tc.by.ID, tc.email, store.RoleAgent); !errors.Is(err, tc.want) {
			t.Fatalf("invite %s by %s: err = %v, want %v", tc.email, tc.by.Email, err, tc.want)
		}
	}
	if _, _, err := db.CreateInvitation(ctx, owner.TeamID, owner.ID, "x@example.com", store.RoleOwner); err == nil {
		t.Fatal("an invitation as owner was accepted")
	}
	inv, expiring, err := db.CreateInvitation(ctx, owner.TeamID, owner.ID, "late@example.com", store.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if !inv.ExpiresAt.Equal(now.Add(7*24*time.Hour)) || inv.InviterName != owner.Name || inv.TeamName != owner.TeamName {
		t.Fatalf("invitation %+v", inv)
	}
	if _, _, err := db.CreateInvitation(ctx, owner.TeamID, owner.ID, "Late@Example.com", store.RoleAgent); !errors.Is(err, store.ErrInvited) {
		t.Fatalf("a second invitation to the same email: err = %v, want ErrInvited", err)
	}
	// Another team may invite the same person; whoever accepts first wins.
	if _, _, err := db.CreateInvitation(ctx, other.TeamID, other.ID, "late@example.com", store.RoleAgent); err != nil {
		t.Fatalf("another team's invitation to the same email: %v", err)
	}
	cancelled, cancelledTok, _ := db.CreateInvitation(ctx, owner.TeamID, owner.ID, "gone@example.com", store.RoleAgent)
	if _, err := db.CancelInvitation(ctx, other.TeamID, cancelled.ID, other.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cancel another team's invitation: err = %v, want ErrNotFound", err)
	}
	if _, err := db.CancelInvitation(ctx, owner.TeamID, cancelled.ID, agent.ID); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("an agent cancels an invitation: err = %v, want ErrForbidden", err)
	}
	if _, err := db.CancelInvitation(ctx, owner.TeamID, cancelled.ID, owner.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AcceptInvitation(ctx, cancelledTok, store.NewAgent{Name: "G", PasswordHash: []byte("h")}); !errors.Is(err, store.ErrInviteGone) {
		t.Fatalf("accept a cancelled invitation: err = %v, want ErrInviteGone", err)
	}
	if _, err := db.AcceptInvitation(ctx, "not-a-token", store.NewAgent{Name: "G", PasswordHash: []byte("h")}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("accept an unknown token: err = %v, want ErrNotFound", err)
	}

	mu.Lock()
	now = now.Add(7*24*time.Hour - time.Second)
	mu.Unlock()
	if open, _ := db.OpenInvitations(ctx, owner.TeamID); len(open) != 1 || open[0].Email != "late@example.com" {
		t.Fatalf("open invitations a second before expiry: %+v", open)
	}
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	if _, err := db.AcceptInvitation(ctx, expiring, store.NewAgent{Name: "L", PasswordHash: []byte("h")}); !errors.Is(err, store.ErrInviteExpired) {
		t.Fatalf("accept after 7 days: err = %v, want ErrInviteExpired", err)
	}
	if open, _ := db.OpenInvitations(ctx, owner.TeamID); len(open) != 0 {
		t.Fatalf("%d open invitations after expiry, want 0", len(open))
	}
	// Once expired, the email can be invited again.
	if _, _, err := db.CreateInvitation(ctx, owner.TeamID, owner.ID, "late@example.com", store.RoleAdmin); err != nil {
		t.Fatalf("invite again after expiry: %v", err)
	}
	events, _ := db.TeamEvents(ctx, owner.TeamID, store.EventFilter{Kind: store.EventsInvitations, Limit: 100})
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action+" "+e.Email)
	}
	want := "invited late@example.com,invitation_cancelled gone@example.com,invited gone@example.com,invited late@example.com,invited agent@example.com"
	if strings.Join(actions, ",") != want {
		t.Fatalf("invitation trail %q, want %q", actions, want)
	}
}

// TestRemoveAgent: removing a member ends their sessions and cancels the
// invitations they sent in the same transaction; their name stays on their
// keys and the trail, the keys they made are listed for rotation, their
// email is free again, and they can no longer act. The owner cannot be
// removed or leave; agents remove no one; no team touches another's.
func TestRemoveAgent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := openDB(t)
	owner := newTeam(t, db, "owner@example.com")
	rival := newTeam(t, db, "rival@example.com")
	admin := join(t, db, owner, "admin@example.com", store.RoleAdmin)
	agent := join(t, db, owner, "agent@example.com", store.RoleAgent)
	key, _, err := db.CreateAPIKey(ctx, owner.TeamID, admin.ID, "Zapier", store.AccessIntake, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.CreateAPIKey(ctx, owner.TeamID, agent.ID, "Sneaky", store.AccessIntake, 0); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("an agent generates a key: err = %v, want ErrForbidden", err)
	}
	sess, _ := db.CreateSession(ctx, admin.ID, rules)
	_, pendingTok, _ := db.CreateInvitation(ctx, owner.TeamID, admin.ID, "friend@example.com", store.RoleAgent)

	for _, tc := range []struct {
		name         string
		team, id, by int64
		want         error
	}{
		{"an agent removes an admin", owner.TeamID, admin.ID, agent.ID, store.ErrForbidden},
		{"an admin removes the owner", owner.TeamID, owner.ID, admin.ID, store.ErrOwner},
		{"another team removes an admin", rival.TeamID, admin.ID, rival.ID, store.ErrNotFound},
		{"the owner removes themself", owner.TeamID, owner.ID, owner.ID, store.ErrForbidden},
	} {
		if _, err := db.RemoveAgent(ctx, tc.team, tc.id, tc.by); !errors.Is(err, tc.want) {
			t.Fatalf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := db.LeaveTeam(ctx, owner.TeamID, owner.ID); !errors.Is(err, store.ErrOwner) {
		t.Fatalf("the owner leaves: err = %v, want ErrOwner", err)
	}

	m, err := db.RemoveAgent(ctx, owner.TeamID, admin.ID, owner.ID)
	if err != nil || m.Email != "admin@example.com" {
		t.Fatalf("remove: %+v, %v", m, err)
	}
	if _, err := db.SessionAgent(ctx, sess, rules); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the removed admin's session: err = %v, want ErrNotFound", err)
	}
	if _, err := db.AcceptInvitation(ctx, pendingTok, store.NewAgent{Name: "F", PasswordHash: []byte("h")}); !errors.Is(err, store.ErrInviteGone) {
		t.Fatalf("the removed admin's invitation: err = %v, want ErrInviteGone", err)
	}
	if _, err := db.AgentByEmail(ctx, "admin@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the removed admin can still be found to sign in: %v", err)
	}
	for _, try := range []error{
		func() error {
			_, _, err := db.CreateAPIKey(ctx, owner.TeamID, admin.ID, "Late", store.AccessIntake, 0)
			return err
		}(),
		func() error { _, err := db.RevokeAPIKey(ctx, owner.TeamID, key.ID, admin.ID); return err }(),
		func() error {
			_, _, err := db.CreateInvitation(ctx, owner.TeamID, admin.ID, "x@example.com", store.RoleAgent)
			return err
		}(),
		func() error { _, err := db.RemoveAgent(ctx, owner.TeamID, agent.ID, admin.ID); return err }(),
	} {
		if !errors.Is(try, store.ErrForbidden) {
			t.Fatalf("the removed admin acts: err = %v, want ErrForbidden", try)
		}
	}
	if _, err := db.RemoveAgent(ctx, owner.TeamID, admin.ID, owner.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("remove twice: err = %v, want ErrNotFound", err)
	}
	keys, _ := db.APIKeys(ctx, owner.TeamID)
	if len(keys) != 1 || keys[0].CreatedByName != admin.Name {
		t.Fatalf("keys after the removal: %+v; the key must stay, with its creator's name", keys)
	}
	departed, err := db.DepartedKeys(ctx, owner.TeamID)
	if err != nil || len(departed) != 1 || departed[0].ID != key.ID || departed[0].Left {
		t.Fatalf("keys to rotate: %+v, %v", departed, err)
	}
	if other, _ := db.DepartedKeys(ctx, rival.TeamID); len(other) != 0 {
		t.Fatalf("another team sees %d keys to rotate", len(other))
	}
	if _, err := db.RevokeAPIKey(ctx, owner.TeamID, key.ID, owner.ID); err != nil {
		t.Fatal(err)
	}
	if departed, _ := db.DepartedKeys(ctx, owner.TeamID); len(departed) != 0 {
		t.Fatalf("%d keys to rotate after revoking the departed admin's key", len(departed))
	}
	// The person may come back, or start over, with the same email.
	if again := join(t, db, owner, "admin@example.com", store.RoleAgent); again.ID == admin.ID {
		t.Fatal("re-inviting brought back the removed account")
	}

	if _, err := db.LeaveTeam(ctx, owner.TeamID, agent.ID); err != nil {
		t.Fatal(err)
	}
	events, _ := db.TeamEvents(ctx, owner.TeamID, store.EventFilter{Kind: store.EventsMembers, Limit: 100})
	if events[0].Action != "left" || events[0].Actor != agent.Name || events[2].Action != "removed" || events[2].Subject != admin.Name || events[2].Actor != owner.Name {
		t.Fatalf("member trail: %+v", events)
	}
	// Filtering by person finds what they did and what was done to them.
	mine, _ := db.TeamEvents(ctx, owner.TeamID, store.EventFilter{Agent: admin.ID, Limit: 100})
	var got []string
	for _, e := range mine {
		got = append(got, e.Action)
	}
	if want := "removed,invitation_cancelled,invited,key_generated,joined"; strings.Join(got, ",") != want {
		t.Fatalf("the admin's trail %q, want %q", got, want)
	}
}
