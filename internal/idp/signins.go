package idp

// Results of a sign-in attempt, as WithSignInObserver reports them.
const (
	// SignInSuccess: the password (or SRP proof) was right. Later checks (a disabled user, a
	// required password reset, a second factor) may still refuse the sign-in.
	SignInSuccess = "success"
	// SignInFailure: a wrong password or proof, or an unknown user.
	SignInFailure = "failure"
	// SignInThrottled: refused by sign-in throttling before anything was checked.
	SignInThrottled = "throttled"
)

// WithSignInObserver sets fn, told of the result of every attempt that goes through sign-in
// throttling (password and SRP checks, and whatever else is counted like them), with the user
// pool's id: for metrics. It is called synchronously with the throttle's lock held, so it must
// be quick and must not call the IdP.
func WithSignInObserver(fn func(pool, result string)) Option {
	return func(p *IdP) { p.signIns = fn }
}
