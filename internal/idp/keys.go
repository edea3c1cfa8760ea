package idp

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

type signingKey struct {
	kid  string
	priv *rsa.PrivateKey
}

// newKeyRecord generates an RSA 2048 key. The kid is derived from the public key (RFC 7638
// thumbprint), so it is stable and unique.
func newKeyRecord(now time.Time) (*keyRecord, *rsa.PrivateKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, fmt.Errorf("generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("encode signing key: %w", err)
	}
	return &keyRecord{Kid: thumbprint(&priv.PublicKey), PKCS8: der, Created: now.UTC()}, priv, nil
}

func thumbprint(pub *rsa.PublicKey) string {
	b64 := base64.RawURLEncoding.EncodeToString
	e := big.NewInt(int64(pub.E)).Bytes()
	s := fmt.Sprintf(`{"e":"%s","kty":"RSA","n":"%s"}`, b64(e), b64(pub.N.Bytes()))
	sum := sha256.Sum256([]byte(s))
	return b64(sum[:])
}

// key returns the parsed signing key kid of poolID.
func (p *IdP) key(ctx context.Context, r store.Reader, poolID, kid string) (*signingKey, error) {
	if k, ok := p.keyCache.Load(poolID + "/" + kid); ok {
		return k.(*signingKey), nil
	}
	rec, err := getJSON[keyRecord](ctx, r, poolID, kindKey, kid)
	if err != nil {
		return nil, fmt.Errorf("load signing key %s: %w", kid, err)
	}
	k, err := x509.ParsePKCS8PrivateKey(rec.PKCS8)
	if err != nil {
		return nil, fmt.Errorf("parse signing key %s: %w", kid, err)
	}
	priv, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing key %s is not RSA", kid)
	}
	sk := &signingKey{kid: kid, priv: priv}
	p.keyCache.Store(poolID+"/"+kid, sk)
	return sk, nil
}

// RotateKeys makes a fresh key the pool's signing key and returns its kid. The previous key
// stays in the JWKS until every token it signed has expired (the longest access/ID token
// lifetime of the pool's clients after rotation); keys past that are deleted.
func (p *IdP) RotateKeys(ctx context.Context, poolID string) (kid string, err error) {
	defer p.audited(ctx, &err, func() Change { return Change{Operation: "RotateKeys", PoolID: poolID, Target: kid} })
	rec, _, err := newKeyRecord(p.now())
	if err != nil {
		return "", err
	}
	err = p.st.Update(ctx, func(tx store.Tx) error {
		pool, err := p.getPool(ctx, tx, poolID)
		if err != nil {
			return err
		}
		now := p.now().UTC()
		life, err := maxTokenLifetime(ctx, tx, poolID)
		if err != nil {
			return err
		}
		keys, err := listAll[keyRecord](ctx, tx, poolID, kindKey)
		if err != nil {
			return err
		}
		for _, k := range keys {
			switch {
			case k.Kid == pool.CurrentKid:
				k.RetiredAt = now
				k.KeepUntil = now.Add(life)
				if err := putJSON(ctx, tx, false, poolID, kindKey, k.Kid, "", "", k); err != nil {
					return err
				}
			case !k.KeepUntil.IsZero() && !now.Before(k.KeepUntil):
				if err := tx.Delete(ctx, poolID, kindKey, k.Kid); err != nil {
					return err
				}
			}
		}
		if err := putJSON(ctx, tx, true, poolID, kindKey, rec.Kid, "", "", rec); err != nil {
			return err
		}
		pool.CurrentKid = rec.Kid
		pool.Updated = now
		if err := keysChangedTx(ctx, tx, poolID, now); err != nil {
			return err
		}
		return putJSON(ctx, tx, false, "", kindPool, poolID, "", "", pool)
	})
	if err != nil {
		return "", fmt.Errorf("rotate keys of %s: %w", poolID, err)
	}
	return rec.Kid, nil
}

// maxTokenLifetime is the longest access/ID token lifetime any client of the pool issues, plus
// a minute of clock skew.
func maxTokenLifetime(ctx context.Context, r store.Reader, poolID string) (time.Duration, error) {
	clients, err := listAll[Client](ctx, r, poolID, kindClient)
	if err != nil {
		return 0, err
	}
	life := defaultAccess
	for _, c := range clients {
		life = max(life, c.AccessTokenValidity, c.IDTokenValidity)
	}
	return life + time.Minute, nil
}

type jwk struct {
	Alg string `json:"alg"`
	E   string `json:"e"`
	Kid string `json:"kid"`
	Kty string `json:"kty"`
	N   string `json:"n"`
	Use string `json:"use"`
}

// JWKS returns the pool's published key set: the current key and retired keys whose tokens
// may still be valid.
func (p *IdP) JWKS(ctx context.Context, poolID string) ([]byte, error) {
	pool, err := p.getPool(ctx, p.st, poolID)
	if err != nil {
		return nil, err
	}
	keys, err := listAll[keyRecord](ctx, p.st, poolID, kindKey)
	if err != nil {
		return nil, err
	}
	now := p.now()
	// Current key first, then the others newest first.
	slices.SortFunc(keys, func(a, b *keyRecord) int { return b.Created.Compare(a.Created) })
	out := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for _, k := range keys {
		if k.Kid != pool.CurrentKid && (k.KeepUntil.IsZero() || !now.Before(k.KeepUntil)) {
			continue
		}
		sk, err := p.key(ctx, p.st, poolID, k.Kid)
		if err != nil {
			return nil, err
		}
		pub := sk.priv.PublicKey
		j := jwk{Alg: "RS256", Kid: k.Kid, Kty: "RSA", Use: "sig",
			E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
			N: base64.RawURLEncoding.EncodeToString(pub.N.Bytes())}
		if k.Kid == pool.CurrentKid {
			out.Keys = slices.Insert(out.Keys, 0, j)
		} else {
			out.Keys = append(out.Keys, j)
		}
	}
	return json.Marshal(out)
}

// sign produces a compact RS256 JWS over the ordered claims.
func sign(k *signingKey, c claims) (string, error) {
	hdr, err := json.Marshal(struct {
		Kid string `json:"kid"`
		Alg string `json:"alg"`
	}{k.kid, "RS256"})
	if err != nil {
		return "", err
	}
	payload, err := c.MarshalJSON()
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(hdr) + "." + enc.EncodeToString(payload)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(nil, k.priv, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return signing + "." + enc.EncodeToString(sig), nil
}

const maxTokenSize = 8 << 10

var errBadToken = errors.New("invalid token")

// verifyJWT checks an RS256 token issued by this pool and returns its claims. It accepts only
// keys the pool publishes.
func (p *IdP) verifyJWT(ctx context.Context, poolID, token string) (map[string]any, error) {
	hdr, payload, sig, signing, err := splitJWT(token)
	if err != nil {
		return nil, err
	}
	var h struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(hdr, &h); err != nil || h.Alg != "RS256" || h.Kid == "" {
		return nil, errBadToken
	}
	rec, err := getJSON[keyRecord](ctx, p.st, poolID, kindKey, h.Kid)
	if err != nil {
		return nil, errBadToken
	}
	pool, err := p.getPool(ctx, p.st, poolID)
	if err != nil {
		return nil, errBadToken
	}
	now := p.now()
	if rec.Kid != pool.CurrentKid && (rec.KeepUntil.IsZero() || !now.Before(rec.KeepUntil)) {
		return nil, errBadToken
	}
	sk, err := p.key(ctx, p.st, poolID, h.Kid)
	if err != nil {
		return nil, errBadToken
	}
	sum := sha256.Sum256([]byte(signing))
	if rsa.VerifyPKCS1v15(&sk.priv.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return nil, errBadToken
	}
	var c map[string]any
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.UseNumber()
	if err := dec.Decode(&c); err != nil {
		return nil, errBadToken
	}
	pool, err = p.getPool(ctx, p.st, poolID)
	if err != nil {
		return nil, errBadToken
	}
	if iss, _ := c["iss"].(string); iss != p.poolIssuer(pool) {
		return nil, errBadToken
	}
	exp, ok := c["exp"].(json.Number)
	if !ok {
		return nil, errBadToken
	}
	e, err := exp.Int64()
	if err != nil || now.Unix() >= e {
		return nil, errBadToken
	}
	return c, nil
}

// splitJWT splits a compact JWS into decoded header, payload and signature.
func splitJWT(token string) (hdr, payload, sig []byte, signing string, err error) {
	if len(token) > maxTokenSize {
		return nil, nil, nil, "", errBadToken
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, nil, nil, "", errBadToken
	}
	enc := base64.RawURLEncoding
	if hdr, err = enc.DecodeString(parts[0]); err != nil {
		return nil, nil, nil, "", errBadToken
	}
	if payload, err = enc.DecodeString(parts[1]); err != nil {
		return nil, nil, nil, "", errBadToken
	}
	if sig, err = enc.DecodeString(parts[2]); err != nil {
		return nil, nil, nil, "", errBadToken
	}
	return hdr, payload, sig, parts[0] + "." + parts[1], nil
}
