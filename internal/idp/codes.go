package idp

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Verification codes (sign-up confirmation, forgot password, attribute verification).
//
// A code is 6 digits from crypto/rand, stored only as an argon2id hash (as passwords are: a
// store dump leaves 10^6 candidates to try at argon2id cost each, against a code that expires
// and dies at its first use). Each user has at most one live code per purpose: a new code
// replaces the old one. Every check is counted in the store before the code is compared, so
// concurrent guesses on any node share one budget: after codeMaxAttempts wrong codes the code is
// dead (LimitExceededException) until a new one is requested, and new codes are limited to
// codeMaxSends per user and purpose per codeSendWindow — at most 25 guesses per hour against
// a million values.
const (
	kindCode        store.Kind = "idp_code"
	codeMaxAttempts            = 5
	codeMaxSends               = 5
	// codeMaxPerDestination bounds the codes one address receives per codeSendWindow, over
	// all users and purposes: sign-ups under many usernames cannot flood someone's mailbox.
	codeMaxPerDestination = 10
	codeSendWindow        = time.Hour
	signUpCodeLifetime    = 24 * time.Hour
	forgotCodeLifetime    = time.Hour
	verifyCodeLifetime    = 24 * time.Hour
	purposeSignUp         = "signup"
	purposeForgot         = "forgot_password"
	purposeVerifyPrefix   = "verify:" // + attribute name
)

// codeRecord is a user's code for one purpose, and that purpose's request budget.
type codeRecord struct {
	Purpose  string `json:"purpose"`
	Username string `json:"username"`
	// Sub binds the code to one user: a user deleted and created again does not inherit it.
	Sub string `json:"sub"`
	// Hash is the code's argon2id hash; "" once the code was used or replaced by nothing.
	Hash string `json:"hash,omitempty"`
	// ValueHash (attribute verification) is hashSecret of the value the code was sent to: a
	// code proves that address only, not one the user changed to since.
	ValueHash   string    `json:"valueHash,omitempty"`
	CodeExpires time.Time `json:"codeExpires"`
	Attempts    int       `json:"attempts"`
	Sends       int       `json:"sends"`
	WindowStart time.Time `json:"windowStart"`
	// Expires is when the whole record (code and request budget) can be swept.
	Expires time.Time `json:"expires"`
}

// CodeCodeDeliveryFailure is Cognito's exception for a code that could not be sent.
const CodeCodeDeliveryFailure = "CodeDeliveryFailureException"

func codeID(purpose, username string) string { return purpose + "/" + hashSecret(username) }

var (
	errCodeMismatch = &Error{Code: CodeCodeMismatch, Message: "Invalid verification code provided, please try again."}
	errCodeExpired  = &Error{Code: CodeExpiredCode, Message: "Invalid code provided, please request a code again."}
	errCodeLimit    = &Error{Code: CodeLimitExceeded, Message: "Attempt limit exceeded, please try after some time."}
	errNoSender     = &Error{Code: CodeCodeDeliveryFailure, Message: "No code sender is configured: set the codeSender setting (smtp, webhook or log) to deliver verification codes."}
	errDelivery     = &Error{Code: CodeCodeDeliveryFailure, Message: "Unable to deliver the verification code."}
)

// newCode returns a fresh code and its hash.
func (p *IdP) newCode(ctx context.Context) (code, hash string, err error) {
	code = randomString("0123456789", 6)
	hash, err = p.hashPassword(ctx, code)
	return code, hash, err
}

// serialize orders tx after every writer that committed before it and before every later
// one (store.Tx.Revision). A read-modify-write (of a code record, a user, a pool) must call
// it before its first read: PostgreSQL runs READ COMMITTED, where two such transactions could
// both read the same state and the second write over the first (two guesses both reading
// attempts=4 and both writing 5; two group additions leaving one group).
func serialize(ctx context.Context, tx store.Tx) error {
	_, err := tx.Revision(ctx, "")
	return err
}

// putCodeTx stores hash as u's live code for purpose (replacing any previous code), counting
// the request against the purpose's budget.
func (p *IdP) putCodeTx(ctx context.Context, tx store.Tx, poolID string, u *User, purpose, hash, value string, lifetime time.Duration) error {
	if err := serialize(ctx, tx); err != nil {
		return err
	}
	now := p.now().UTC()
	id := codeID(purpose, u.Username)
	rec, err := getJSON[codeRecord](ctx, tx, poolID, kindCode, id)
	if errors.Is(err, store.ErrNotFound) {
		rec, err = &codeRecord{}, nil
	}
	if err != nil {
		return err
	}
	if rec.Sub != u.Sub || !now.Before(rec.WindowStart.Add(codeSendWindow)) {
		rec = &codeRecord{WindowStart: now}
	}
	if rec.Sends >= codeMaxSends {
		return errCodeLimit
	}
	if value != "" {
		if err := p.countDestinationTx(ctx, tx, poolID, value, now); err != nil {
			return err
		}
	}
	rec.Purpose, rec.Username, rec.Sub = purpose, u.Username, u.Sub
	rec.Hash, rec.Attempts, rec.Sends = hash, 0, rec.Sends+1
	rec.CodeExpires = now.Add(lifetime)
	rec.ValueHash = ""
	if value != "" {
		rec.ValueHash = hashSecret(value)
	}
	rec.Expires = rec.CodeExpires
	if w := rec.WindowStart.Add(codeSendWindow); w.After(rec.Expires) {
		rec.Expires = w
	}
	return putJSON(ctx, tx, false, poolID, kindCode, id, "", "", rec)
}

// countDestinationTx counts one code sent to value against its budget (records of kind
// idp_code with id "dest/<hash>", holding only the count and its window).
func (p *IdP) countDestinationTx(ctx context.Context, tx store.Tx, poolID, value string, now time.Time) error {
	id := "dest/" + hashSecret(strings.ToLower(strings.TrimSpace(value)))
	rec, err := getJSON[codeRecord](ctx, tx, poolID, kindCode, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && !now.Before(rec.WindowStart.Add(codeSendWindow)) {
		rec, err = &codeRecord{Purpose: "destination", WindowStart: now}, nil
	}
	if err != nil {
		return err
	}
	if rec.Sends >= codeMaxPerDestination {
		p.log.Info("code requests for one destination exceed the budget", "pool", poolID, "ip", clientIP(ctx))
		return errCodeLimit
	}
	rec.Sends++
	rec.Expires = rec.WindowStart.Add(codeSendWindow)
	return putJSON(ctx, tx, false, poolID, kindCode, id, "", "", rec)
}

// dropCodeTx removes u's code for purpose (used when the purpose is met some other way, such
// as AdminConfirmSignUp); the request budget stays.
func (p *IdP) dropCodeTx(ctx context.Context, tx store.Tx, poolID, username, purpose string) error {
	id := codeID(purpose, username)
	rec, err := getJSON[codeRecord](ctx, tx, poolID, kindCode, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if rec.Hash == "" {
		return nil
	}
	rec.Hash = ""
	return putJSON(ctx, tx, false, poolID, kindCode, id, "", "", rec)
}

// useCode checks code as username's code for purpose and, when it matches, runs apply on
// the user in the transaction that consumes the code; apply's changes to the user are saved.
// value, for attribute verification, must be the value the code was sent to. Errors:
// CodeMismatch, ExpiredCode (none live, expired, used), LimitExceeded, or apply's.
func (p *IdP) useCode(ctx context.Context, poolID, username, purpose, code, value string, apply func(tx store.Tx, u *User, rec *codeRecord) error) error {
	if code == "" || len(code) > 64 || strings.ContainsAny(code, " \t\r\n") {
		return errf(CodeInvalidParameter, "1 validation error detected: Value at 'confirmationCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\S]+")
	}
	id := codeID(purpose, username)
	var hash string
	var bad error
	// First count the attempt, so that guesses racing on several connections or nodes all
	// draw on the same budget before any is compared.
	err := p.st.Update(ctx, func(tx store.Tx) error {
		hash, bad = "", nil
		if err := serialize(ctx, tx); err != nil {
			return err
		}
		u, err := p.getUser(ctx, tx, poolID, username)
		if err != nil {
			return err
		}
		rec, err := getJSON[codeRecord](ctx, tx, poolID, kindCode, id)
		if errors.Is(err, store.ErrNotFound) {
			bad = errCodeExpired
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case rec.Hash == "" || rec.Sub != u.Sub || !p.now().Before(rec.CodeExpires):
			bad = errCodeExpired
			return nil
		case rec.Attempts >= codeMaxAttempts:
			bad = errCodeLimit
			return nil
		case value != "" && rec.ValueHash != hashSecret(value):
			bad = errCodeExpired
			return nil
		}
		rec.Attempts++
		hash = rec.Hash
		return putJSON(ctx, tx, false, poolID, kindCode, id, "", "", rec)
	})
	if err != nil {
		return err
	}
	if bad != nil {
		return bad
	}
	ok, err := p.verifyPassword(ctx, hash, code)
	if err != nil {
		return err
	}
	if !ok {
		p.log.Info("verification code mismatch", "pool", poolID, "username", username, "purpose", purpose, "ip", clientIP(ctx))
		return errCodeMismatch
	}
	return p.st.Update(ctx, func(tx store.Tx) error {
		if err := serialize(ctx, tx); err != nil {
			return err
		}
		rec, err := getJSON[codeRecord](ctx, tx, poolID, kindCode, id)
		if errors.Is(err, store.ErrNotFound) {
			return errCodeExpired
		}
		if err != nil {
			return err
		}
		if rec.Hash != hash {
			return errCodeExpired // used or replaced meanwhile
		}
		used := *rec
		rec.Hash, rec.Attempts = "", 0
		if err := putJSON(ctx, tx, false, poolID, kindCode, id, "", "", rec); err != nil {
			return err
		}
		u, err := p.getUser(ctx, tx, poolID, username)
		if err != nil {
			return err
		}
		if u.Sub != rec.Sub {
			return errCodeExpired
		}
		if err := apply(tx, u, &used); err != nil {
			return err
		}
		u.Updated = p.now().UTC()
		return putJSON(ctx, tx, false, poolID, kindUser, u.Username, u.Sub, "", u)
	})
}

// codeDelivery is Cognito's CodeDeliveryDetailsType.
type codeDelivery struct {
	AttributeName  string `json:"AttributeName"`
	DeliveryMedium string `json:"DeliveryMedium"`
	Destination    string `json:"Destination"`
}

// deliveryFor picks where a code for u goes: attr (email or phone_number) when u has it, and
// the medium that attribute implies.
func deliveryFor(u *User, attr string) (medium, dest string, ok bool) {
	dest = u.Attributes[attr]
	if dest == "" {
		return "", "", false
	}
	if attr == "phone_number" {
		return "SMS", dest, true
	}
	return "EMAIL", dest, true
}

// maskDestination hides most of an address as Cognito does: a***@e*** or +*******1234.
func maskDestination(medium, dest string) string {
	if medium == "SMS" {
		if len(dest) <= 4 {
			return "+****"
		}
		// Phone numbers are E.164 (+ and digits); anything else is masked whole.
		if strings.Trim(dest[1:], "0123456789") != "" || dest[0] != '+' {
			return "+****"
		}
		return "+" + strings.Repeat("*", max(len(dest)-5, 1)) + dest[len(dest)-4:]
	}
	local, domain, ok := strings.Cut(dest, "@")
	if !ok || local == "" || domain == "" {
		return "***"
	}
	first := func(s string) string { r, _ := utf8.DecodeRuneInString(s); return string(r) }
	return first(local) + "***@" + first(domain) + "***"
}

// sendCode delivers code to u; errors are CodeDeliveryFailure (the cause is logged, never
// the code).
func (p *IdP) sendCode(ctx context.Context, pool *Pool, u *User, kind, attr, code string) (*codeDelivery, error) {
	medium, dest, ok := deliveryFor(u, attr)
	if !ok {
		return nil, errf(CodeInvalidParameter, "The user has no %s to send a code to.", attr)
	}
	if p.sender == nil {
		return nil, errNoSender
	}
	err := p.sender.Send(ctx, CodeMessage{PoolID: pool.ID, PoolName: pool.Name, Username: u.Username, Kind: kind,
		Medium: medium, Attribute: attr, Destination: dest, Code: code})
	if err != nil {
		p.log.Error("verification code not delivered", "pool", pool.ID, "username", u.Username, "kind", kind, "err", err)
		return nil, errDelivery
	}
	return &codeDelivery{AttributeName: attr, DeliveryMedium: medium, Destination: maskDestination(medium, dest)}, nil
}
