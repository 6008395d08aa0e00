package limit

import (
	"errors"
	"net/netip"
	"time"
)

// Rules are the edge's two limits. The edge checks AllowIP before it looks
// at the token and AllowUser once the token is verified, and answers 429
// with Retry-After when either refuses. A nil Limiter lets everything
// through, so either rule can be switched off.
type Rules struct {
	IP   *Limiter // keyed by client address (IPv6: its /64)
	User *Limiter // keyed by verified user id
}

// NewRules returns Rules with a limiter for each of ip and user.
func NewRules(ip, user Config) (*Rules, error) {
	ipl, err := New(ip)
	if err != nil {
		return nil, err
	}
	ul, err := New(user)
	if err != nil {
		ipl.Close()
		return nil, err
	}
	return &Rules{IP: ipl, User: ul}, nil
}

// AllowIP takes a token from addr's bucket.
func (r *Rules) AllowIP(addr netip.Addr) (ok bool, retryAfter time.Duration) {
	if r.IP == nil {
		return true, 0
	}
	return r.IP.Allow(IPKey(addr))
}

// AllowUser takes a token from userID's bucket.
func (r *Rules) AllowUser(userID int64) (ok bool, retryAfter time.Duration) {
	if r.User == nil {
		return true, 0
	}
	return r.User.Allow(UserKey(userID))
}

// Close closes both limiters. It is idempotent.
func (r *Rules) Close() error {
	var errs []error
	for _, l := range []*Limiter{r.IP, r.User} {
		if l != nil {
			errs = append(errs, l.Close())
		}
	}
	return errors.Join(errs...)
}
