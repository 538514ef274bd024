package views

import (
	"fmt"
	"time"
)

// Roles as the store names them (views do not import the store).
const (
	roleOwner = "owner"
	roleAdmin = "admin"
	roleAgent = "agent"
)

// Team is everything Settings → Team shows.
type Team struct {
	Name      string
	Me        int64 // the signed-in agent
	MyRole    string
	CanManage bool // owner or admin: invite, remove, change roles
	Members   []MemberRow
	Invites   []InviteRow
	Rotation  []Departed
	Invite    InviteForm
	Notice    string // what just happened
	Mail      bool   // the server sends mail
}

// IsOwner reports whether the signed-in agent owns the team.
func (t Team) IsOwner() bool { return t.MyRole == roleOwner }

// MemberRow is one member of the team.
type MemberRow struct {
	ID     int64
	Name   string
	Email  string
	Role   string
	Joined time.Time
}

// InviteRow is an invitation waiting to be accepted.
type InviteRow struct {
	ID        int64
	Email     string
	Role      string
	InvitedBy string
	Expires   time.Time
}

// InviteForm is the invite form, and right after an invitation the link
// to copy, shown once.
type InviteForm struct {
	Email   string
	Role    string
	Error   string // what to fix, under the email input
	Link    string // the new invitation's link, set only in the answer to Invite
	For     string // the invited email, with Link
	Emailed bool   // the link was also sent by email
}

// Departed is someone who left the team or was removed, with the active
// keys they generated (and saw in full): the rotation prompt.
type Departed struct {
	Name string
	Left bool // they left; otherwise they were removed
	At   time.Time
	Keys []KeyRow
}

// ActivityRow is one line of the team's audit trail.
type ActivityRow struct {
	At         time.Time
	Action     string
	Actor      string
	Subject    string
	Email      string
	Role       string
	KeyLabel   string
	KeyPreview string
	Detail     string    // key_rotated: the replacement's label; key_renamed: the old label
	Until      time.Time // key_expiry_set: when the key stops working
}

// roleName is how a role reads in a sentence: "an admin", "the owner".
func roleName(role string) string {
	switch role {
	case roleOwner:
		return "the owner"
	case roleAdmin:
		return "an admin"
	}
	return "an agent"
}

// roleLabel is a role as a column shows it.
func roleLabel(role string) string {
	switch role {
	case roleOwner:
		return "Owner"
	case roleAdmin:
		return "Admin"
	}
	return "Agent"
}

// activityText says what happened, without the time.
func activityText(e ActivityRow, c Clock) string {
	switch e.Action {
	case "invited":
		return fmt.Sprintf("%s invited %s as %s", e.Actor, e.Email, roleName(e.Role))
	case "invitation_cancelled":
		if e.Subject != "" && e.Subject != e.Actor {
			return fmt.Sprintf("%s cancelled the invitation of %s sent by %s", e.Actor, e.Email, e.Subject)
		}
		return fmt.Sprintf("%s cancelled the invitation of %s", e.Actor, e.Email)
	case "joined":
		return fmt.Sprintf("%s joined as %s, invited by %s", e.Actor, roleName(e.Role), e.Subject)
	case "role_changed":
		return fmt.Sprintf("%s made %s %s", e.Actor, e.Subject, roleName(e.Role))
	case "ownership_transferred":
		return fmt.Sprintf("%s transferred ownership of the team to %s", e.Actor, e.Subject)
	case "removed":
		return fmt.Sprintf("%s removed %s from the team", e.Actor, e.Subject)
	case "left":
		return fmt.Sprintf("%s left the team", e.Actor)
	case "key_generated":
		return fmt.Sprintf("%s generated the key “%s” %s…", e.Actor, e.KeyLabel, e.KeyPreview)
	case "key_revoked":
		return fmt.Sprintf("%s revoked the key “%s” %s…", e.Actor, e.KeyLabel, e.KeyPreview)
	case "key_rotated":
		return fmt.Sprintf("%s rotated the key “%s” %s…: replaced by “%s”", e.Actor, e.KeyLabel, e.KeyPreview, e.Detail)
	case "key_renamed":
		return fmt.Sprintf("%s renamed the key “%s” to “%s” %s…", e.Actor, e.Detail, e.KeyLabel, e.KeyPreview)
	case "key_expiry_set":
		return fmt.Sprintf("%s set the key “%s” %s… to expire %s", e.Actor, e.KeyLabel, e.KeyPreview, c.dateText(e.Until))
	}
	return e.Actor + " " + e.Action
}

func memberURL(id int64) string { return fmt.Sprintf("/settings/team/members/%d", id) }

func inviteURL(id int64) string { return fmt.Sprintf("/settings/team/invites/%d", id) }

func rotateURL(id int64) string { return fmt.Sprintf("/settings/integrations/api-keys/%d/rotate", id) }

func removeQuestion(name, team string) string {
	return fmt.Sprintf("Remove %s from %s? They are signed out at once and can no longer open the team's leads or settings. Keys they generated keep working until you rotate them.", name, team)
}

func leaveQuestion(team string) string {
	return fmt.Sprintf("Leave %s? You are signed out at once, and you can come back only with a new invitation.", team)
}

func cancelInviteQuestion(email string) string {
	return fmt.Sprintf("Cancel the invitation of %s? Its link stops working at once.", email)
}

func transferQuestion(name string) string {
	return fmt.Sprintf("Make %s the owner of the team? You become an admin, and only %s can transfer ownership again.", name, name)
}

// RemoveMemberRemoval is the no-JS confirmation of removing member m.
func RemoveMemberRemoval(m MemberRow, team string) Removal {
	return Removal{Title: "Remove " + m.Name + "?", Question: removeQuestion(m.Name, team), Action: memberURL(m.ID),
		Button: "Remove " + m.Name, Back: "/settings/team", TestID: "remove-member-confirm"}
}

// LeaveRemoval is the no-JS confirmation of leaving the team.
func LeaveRemoval(me int64, team string) Removal {
	return Removal{Title: "Leave " + team + "?", Question: leaveQuestion(team), Action: memberURL(me),
		Button: "Leave team", Back: "/settings/team", TestID: "leave-confirm"}
}

// CancelInviteRemoval is the no-JS confirmation of cancelling invitation i.
func CancelInviteRemoval(i InviteRow) Removal {
	return Removal{Title: "Cancel the invitation of " + i.Email + "?", Question: cancelInviteQuestion(i.Email), Action: inviteURL(i.ID),
		Button: "Cancel invitation", Back: "/settings/team", TestID: "cancel-invite-confirm"}
}

// Activity is the team's full audit trail, one page of it.
type Activity struct {
	Events  []ActivityRow
	Kind    string // the filter: "", "members", "invitations", "keys"
	Agent   int64  // the filter: one person, 0 for everyone
	People  []MemberRow
	NextURL string // the next (older) page, "" at the end
}

// AcceptInvite is the invitation page.
type AcceptInvite struct {
	Team    string
	Inviter string
	Email   string
	Role    string
	Action  string // where the form posts: the invitation's own URL
}

// commonZones are offered while typing a time zone; any IANA name works.
var commonZones = []string{
	"America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles",
	"America/Anchorage", "Pacific/Honolulu", "America/Puerto_Rico", "America/Toronto", "America/Vancouver",
	"America/Mexico_City", "Europe/London", "Europe/Paris", "Europe/Berlin", "Asia/Tokyo", "Australia/Sydney", "UTC",
}

// TransferRemoval is the no-JS confirmation of making m the owner: not a
// removal, but the same page with a POST.
func TransferRemoval(m MemberRow) Removal {
	return Removal{Title: "Make " + m.Name + " the owner?", Question: transferQuestion(m.Name), Action: memberURL(m.ID) + "/role",
		Button: "Make " + m.Name + " the owner", Back: "/settings/team", TestID: "transfer-confirm", Post: map[string]string{"role": roleOwner}}
}
