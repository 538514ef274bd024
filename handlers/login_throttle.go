package handlers

import (
	"math"
	"time"

	"golang.org/x/time/rate"
)

// Login throttling. Wrong passwords are counted per account and address
// pair, so a spray from other addresses never locks the agent out: the
// right password from an address that has not failed is always checked.
// An account attacked from many addresses makes each of them wait longer
// and longer between attempts instead. Every attempt, successful or not,
// also draws on its address's budget: signing in costs a password hash and
// a session.
const (
	loginWindow = 15 * time.Minute
	// Sign-ins per address: a burst of loginBurst, then one per loginEvery.
	loginBurst = 30
	loginEvery = 10 * time.Second
	// maxLoginSpacing caps the wait between an address's attempts on an
	// account under attack.
	maxLoginSpacing = 5 * time.Minute
)

// loginThrottle decides which login attempts get their password checked.
type loginThrottle struct {
	rate     *limiterSet // every attempt, per address
	ips      *throttle   // failures per address, any account
	pairs    *throttle   // failures per account and address
	accounts *throttle   // failures per account, from every address
	// ceiling is how many failures an account takes in a window before
	// its addresses must space their attempts; each further step failures
	// double the spacing, from one second.
	ceiling, step int
}

// newLoginThrottle allows limit failures per account and address, four
// times as many per address, and twenty times as many per account before
// the spacing starts.
func newLoginThrottle(limit int) *loginThrottle {
	return &loginThrottle{
		rate:     newBucketSet(rate.Every(loginEvery), loginBurst),
		ips:      newThrottle(4*limit, loginWindow),
		pairs:    newThrottle(limit, loginWindow),
		accounts: newThrottle(math.MaxInt, loginWindow), // counted, never refused: see spacing
		ceiling:  20 * limit, step: limit,
	}
}

// admit reserves an attempt, counted as a failure until it is settled by
// succeeded or unchecked. A refused attempt says how long to wait and what
// was exceeded.
func (l *loginThrottle) admit(account, ip string) (ok bool, wait time.Duration, what string) {
	// The address first: it is the one limit an attacker cannot spread.
	if ok, wait := l.rate.allow(ip); !ok {
		return false, wait, "sign-ins from this address"
	}
	if ok, wait := l.ips.reserve(ip, 0); !ok {
		return false, wait, "failed attempts from this address"
	}
	if ok, wait := l.pairs.reserve(pairKey(account, ip), l.spacing(l.accounts.count(account))); !ok {
		l.ips.refund(ip)
		return false, wait, "failed attempts"
	}
	l.accounts.reserve(account, 0)
	return true, 0, ""
}

// spacing is how long an address must wait between attempts on an account
// that has had failures from every address.
func (l *loginThrottle) spacing(accountFailures int) time.Duration {
	over := accountFailures - l.ceiling
	if over < 0 {
		return 0
	}
	return min(maxLoginSpacing, time.Second<<min(over/l.step, 16))
}

// succeeded settles an attempt with the right password: it was no failure,
// and the address's earlier mistakes on the account are forgiven.
func (l *loginThrottle) succeeded(account, ip string) {
	l.ips.refund(ip)
	l.pairs.clear(pairKey(account, ip))
	l.accounts.refund(account)
}

// unchecked settles an attempt whose password was never checked.
func (l *loginThrottle) unchecked(account, ip string) {
	l.ips.refund(ip)
	l.pairs.refund(pairKey(account, ip))
	l.accounts.refund(account)
}

func pairKey(account, ip string) string { return account + "\x00" + ip }
