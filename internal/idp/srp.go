package idp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
	"golang.org/x/crypto/hkdf"
)

// Cognito's SRP-6a (USER_SRP_AUTH) as amazon-cognito-identity-js and Amplify speak it: the
// 3072-bit MODP group of RFC 3526 with g = 2, SHA-256, values hashed as "padded hex" (big-endian
// bytes with a leading zero byte when the top bit is set; k is H(pad(N) | pad(g)) without
// padding g to the length of N), x = H(pad(salt) | H(poolName | userId | ":" | password)), and
// the session key is 16 bytes of HKDF-SHA256(ikm = pad(S), salt = pad(u), info = "Caldera
// Derived Key"). The client proves the key with PASSWORD_CLAIM_SIGNATURE =
// HMAC-SHA256(key, poolName | userId | secretBlock | timestamp). poolName is the part of the
// pool id after the underscore.
const srpNHex = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD" +
	"EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
	"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F" +
	"83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B" +
	"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510" +
	"15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7" +
	"ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C" +
	"BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF"

var (
	srpN = mustHex(srpNHex)
	srpG = big.NewInt(2)
	srpK = new(big.Int).SetBytes(sha256Bytes(padBytes(srpN), padBytes(srpG)))
)

const (
	srpInfo          = "Caldera Derived Key"
	kindSRPSession   = store.Kind("idp_srp_session")
	srpSessionLife   = 3 * time.Minute
	srpTimestampSkew = 5 * time.Minute
	srpTimeLayout    = "Mon Jan 2 15:04:05 MST 2006"
)

func mustHex(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 16)
	if !ok {
		panic("bad SRP constant")
	}
	return n
}

func sha256Bytes(parts ...[]byte) []byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// padBytes is Cognito's padHex as bytes: big-endian, with a zero byte prepended when the top
// bit is set (so the value reads as positive).
func padBytes(n *big.Int) []byte {
	b := n.Bytes()
	if len(b) == 0 {
		return []byte{0}
	}
	if b[0]&0x80 != 0 {
		return append([]byte{0}, b...)
	}
	return b
}

// srpPoolName is the pool id's part after the region.
func srpPoolName(poolID string) string {
	_, name, _ := strings.Cut(poolID, "_")
	return name
}

// srpX computes x from the salt (hex) and the credentials.
func srpX(poolID, userID, password, saltHex string) (*big.Int, error) {
	salt, ok := new(big.Int).SetString(saltHex, 16)
	if !ok {
		return nil, errors.New("bad SRP salt")
	}
	inner := sha256.Sum256([]byte(srpPoolName(poolID) + userID + ":" + password))
	// The client hashes the hex of the inner hash's bytes: the same bytes.
	return new(big.Int).SetBytes(sha256Bytes(padBytes(salt), inner[:])), nil
}

// newSRPVerifier returns a fresh salt and the verifier g^x mod N (both hex).
func newSRPVerifier(poolID, userID, password string) (salt, verifier string, err error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	salt = hex.EncodeToString(b[:])
	x, err := srpX(poolID, userID, password, salt)
	if err != nil {
		return "", "", err
	}
	return salt, new(big.Int).Exp(srpG, x, srpN).Text(16), nil
}

// setPassword stores a new password: its argon2id hash and its SRP verifier.
func setPassword(u *User, poolID, hash, password string) error {
	salt, v, err := newSRPVerifier(poolID, u.Username, password)
	if err != nil {
		return fmt.Errorf("SRP verifier: %w", err)
	}
	u.PasswordHash, u.SRPSalt, u.SRPVerifier = hash, salt, v
	return nil
}

// addSRPVerifier gives a user created before verifiers were stored one, from the password it
// just proved; failing only delays SRP for that user, so it is logged, not returned.
func (p *IdP) addSRPVerifier(ctx context.Context, poolID, username, password string) {
	err := p.updateUser(ctx, poolID, username, func(_ store.Tx, u *User) error {
		if u.SRPVerifier != "" {
			return nil
		}
		salt, v, err := newSRPVerifier(poolID, u.Username, password)
		u.SRPSalt, u.SRPVerifier = salt, v
		return err
	})
	if err != nil {
		p.log.Warn("store SRP verifier", "pool", poolID, "username", username, "err", err)
	}
}

// srpSession is the server's half of one USER_SRP_AUTH exchange, stored under the SHA-256 of
// the secret block it handed out; it is deleted by the first response, right or wrong.
type srpSession struct {
	ClientID string    `json:"clientId"`
	Username string    `json:"username"`
	A        string    `json:"a"` // client public value, hex
	B        string    `json:"b"` // server public value, hex
	Priv     string    `json:"priv"`
	Expires  time.Time `json:"expires"`
}

// srpStart answers USER_SRP_AUTH with the PASSWORD_VERIFIER challenge. A user without a
// verifier (created before verifiers were stored and not signed in with a password since)
// gets a challenge that no password can answer, as an unknown user does, so the answer does
// not reveal which users exist.
func (p *IdP) srpStart(ctx context.Context, pool *Pool, client *Client, username, aHex string) (*Challenge, error) {
	if username == "" {
		return nil, errf(CodeInvalidParameter, "Missing required parameter USERNAME")
	}
	a, ok := new(big.Int).SetString(aHex, 16)
	if aHex == "" || len(aHex) > 2048 || !ok || a.Sign() <= 0 || new(big.Int).Mod(a, srpN).Sign() == 0 {
		return nil, errf(CodeInvalidParameter, "Missing or invalid required parameter SRP_A")
	}
	u, err := p.getUser(ctx, p.st, pool.ID, username)
	var ie *Error
	if err != nil && !(errors.As(err, &ie) && ie.Code == CodeUserNotFound) {
		return nil, err
	}
	userID, saltHex, v := username, "", new(big.Int)
	if u != nil && u.SRPVerifier != "" {
		userID, saltHex = u.Username, u.SRPSalt
		v.SetString(u.SRPVerifier, 16)
	} else {
		if u == nil && !client.PreventUserExistenceErrors {
			return nil, ie
		}
		var r [16]byte
		_, _ = rand.Read(r[:])
		saltHex = hex.EncodeToString(r[:])
		v.Exp(srpG, new(big.Int).SetBytes(r[:]), srpN) // nobody knows its x
	}
	var priv *big.Int
	var b *big.Int
	for {
		var raw [128]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return nil, err
		}
		priv = new(big.Int).SetBytes(raw[:])
		b = new(big.Int).Exp(srpG, priv, srpN)
		b.Add(b, new(big.Int).Mul(srpK, v)).Mod(b, srpN)
		if b.Sign() != 0 {
			break
		}
	}
	secret := make([]byte, 64)
	_, _ = rand.Read(secret)
	block := base64.StdEncoding.EncodeToString(secret)
	sess := srpSession{ClientID: client.ID, Username: userID, A: a.Text(16), B: b.Text(16), Priv: priv.Text(16),
		Expires: p.now().Add(srpSessionLife).UTC()}
	err = p.st.Update(ctx, func(tx store.Tx) error {
		return putJSON(ctx, tx, true, pool.ID, kindSRPSession, hashSecret(block), "", "", sess)
	})
	if err != nil {
		return nil, fmt.Errorf("store SRP session: %w", err)
	}
	return &Challenge{Name: "PASSWORD_VERIFIER", Session: block, Parameters: map[string]string{
		"SALT": saltHex, "SRP_B": b.Text(16), "SECRET_BLOCK": block, "USER_ID_FOR_SRP": userID, "USERNAME": userID,
	}}, nil
}

// srpVerify checks a PASSWORD_VERIFIER answer and returns the user. Every answer is a password
// check: it is throttled like one and burns the session.
func (p *IdP) srpVerify(ctx context.Context, pool *Pool, client *Client, cr map[string]string) (*User, error) {
	block, sig, ts := cr["PASSWORD_CLAIM_SECRET_BLOCK"], cr["PASSWORD_CLAIM_SIGNATURE"], cr["TIMESTAMP"]
	for _, name := range []string{"USERNAME", "PASSWORD_CLAIM_SECRET_BLOCK", "PASSWORD_CLAIM_SIGNATURE", "TIMESTAMP"} {
		if cr[name] == "" {
			return nil, errf(CodeInvalidParameter, "Missing required parameter %s", name)
		}
	}
	if len(block) > 1024 || len(sig) > 128 || len(ts) > 64 {
		return nil, errBadCredentials
	}
	var sess *srpSession
	err := p.st.Update(ctx, func(tx store.Tx) error {
		sess = nil
		id := hashSecret(block)
		s, err := getJSON[srpSession](ctx, tx, pool.ID, kindSRPSession, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := tx.Delete(ctx, pool.ID, kindSRPSession, id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			return err
		}
		sess = s
		return nil
	})
	if err != nil {
		return nil, err
	}
	if sess == nil || sess.ClientID != client.ID || !p.now().Before(sess.Expires) {
		return nil, errf(CodeNotAuthorized, "Invalid session for the user, session is expired.")
	}
	username := sess.Username
	ip := clientIP(ctx)
	at, refused := p.throttle.begin(p.now(), pool.ID, username, ip)
	switch refused {
	case refusedPair, refusedUser:
		return nil, errf(CodeNotAuthorized, "Password attempts exceeded")
	case refusedIP:
		return nil, errf(CodeTooManyRequests, "Too many failed sign-in attempts from this address; try again later.")
	}
	defer p.throttle.abandoned(at)
	fail := func(reason string) (*User, error) {
		p.throttle.failed(p.now(), at)
		p.log.Info("sign-in denied", "pool", pool.ID, "client", client.ID, "username", username, "ip", ip, "reason", reason)
		return nil, errBadCredentials
	}
	when, err := time.Parse(srpTimeLayout, ts)
	if err != nil || when.Sub(p.now()).Abs() > srpTimestampSkew {
		return fail("bad_timestamp")
	}
	u, err := p.getUser(ctx, p.st, pool.ID, username)
	if err != nil || u.SRPVerifier == "" {
		return fail("unknown_user")
	}
	v, _ := new(big.Int).SetString(u.SRPVerifier, 16)
	a, _ := new(big.Int).SetString(sess.A, 16)
	b, _ := new(big.Int).SetString(sess.B, 16)
	priv, _ := new(big.Int).SetString(sess.Priv, 16)
	if v == nil || a == nil || b == nil || priv == nil {
		return fail("bad_session")
	}
	uu := new(big.Int).SetBytes(sha256Bytes(padBytes(a), padBytes(b)))
	if uu.Sign() == 0 {
		return fail("bad_u")
	}
	s := new(big.Int).Exp(v, uu, srpN)
	s.Mul(s, a).Mod(s, srpN).Exp(s, priv, srpN)
	key := make([]byte, 16)
	if _, err := hkdf.New(sha256.New, padBytes(s), padBytes(uu), []byte(srpInfo)).Read(key); err != nil {
		return nil, err
	}
	secret, err := base64.StdEncoding.DecodeString(block)
	if err != nil {
		return fail("bad_secret_block")
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(srpPoolName(pool.ID) + u.Username))
	m.Write(secret)
	m.Write([]byte(ts))
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || subtle.ConstantTimeCompare(m.Sum(nil), got) != 1 {
		return fail("bad_password")
	}
	p.throttle.succeeded(at)
	if !u.Enabled {
		return nil, errf(CodeNotAuthorized, "User is disabled.")
	}
	if u.Status == userStatusUnconfirmed {
		return nil, errf(CodeUserNotConfirmed, "User is not confirmed.")
	}
	if u.Status == userStatusReset {
		return nil, errf(CodeResetRequired, "Password reset required for the user")
	}
	if u.Status == userStatusNew {
		return u, errNewPassword
	}
	return u, nil
}
