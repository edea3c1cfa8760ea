package idp_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"golang.org/x/crypto/hkdf"

	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// The client side of Cognito's USER_SRP_AUTH, written from the protocol as
// amazon-cognito-identity-js implements it (RFC 3526 3072-bit group, g = 2, SHA-256, padded
// hex, HKDF "Caldera Derived Key", PASSWORD_CLAIM_SIGNATURE).
const clientNHex = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD" +
	"EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
	"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F" +
	"83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B" +
	"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510" +
	"15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7" +
	"ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C" +
	"BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF"

var clientN, _ = new(big.Int).SetString(clientNHex, 16)

func pad(n *big.Int) []byte {
	b := n.Bytes()
	if len(b) == 0 || b[0]&0x80 != 0 {
		return append([]byte{0}, b...)
	}
	return b
}

func h256(parts ...[]byte) []byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

type srpClient struct{ a, A *big.Int }

func newSRPClient(t testing.TB) *srpClient {
	raw := make([]byte, 128)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	a := new(big.Int).SetBytes(raw)
	return &srpClient{a: a, A: new(big.Int).Exp(big.NewInt(2), a, clientN)}
}

// respond computes the PASSWORD_VERIFIER challenge responses.
func (c *srpClient) respond(t testing.TB, poolID, password string, params map[string]string, now time.Time) map[string]string {
	t.Helper()
	g := big.NewInt(2)
	k := new(big.Int).SetBytes(h256(pad(clientN), pad(g)))
	B, ok1 := new(big.Int).SetString(params["SRP_B"], 16)
	salt, ok2 := new(big.Int).SetString(params["SALT"], 16)
	if !ok1 || !ok2 {
		t.Fatalf("challenge parameters %v", params)
	}
	userID := params["USER_ID_FOR_SRP"]
	poolName := poolID[strings.IndexByte(poolID, '_')+1:]
	u := new(big.Int).SetBytes(h256(pad(c.A), pad(B)))
	x := new(big.Int).SetBytes(h256(pad(salt), h256([]byte(poolName+userID+":"+password))))
	gx := new(big.Int).Exp(g, x, clientN)
	base := new(big.Int).Sub(B, new(big.Int).Mul(k, gx))
	base.Mod(base, clientN)
	exp := new(big.Int).Add(c.a, new(big.Int).Mul(u, x))
	S := new(big.Int).Exp(base, exp, clientN)
	key := make([]byte, 16)
	if _, err := hkdf.New(sha256.New, pad(S), pad(u), []byte("Caldera Derived Key")).Read(key); err != nil {
		t.Fatal(err)
	}
	block, err := base64.StdEncoding.DecodeString(params["SECRET_BLOCK"])
	if err != nil {
		t.Fatal(err)
	}
	ts := now.UTC().Format("Mon Jan 2 15:04:05 UTC 2006")
	m := hmac.New(sha256.New, key)
	m.Write([]byte(poolName + userID))
	m.Write(block)
	m.Write([]byte(ts))
	return map[string]string{"USERNAME": userID, "PASSWORD_CLAIM_SECRET_BLOCK": params["SECRET_BLOCK"], "TIMESTAMP": ts,
		"PASSWORD_CLAIM_SIGNATURE": base64.StdEncoding.EncodeToString(m.Sum(nil))}
}

// TestSRPSignIn drives USER_SRP_AUTH → PASSWORD_VERIFIER → RespondToAuthChallenge through the
// AWS SDK with a client computing the protocol independently, and its failures.
func TestSRPSignIn(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, st)
		api := e.api
		poolID := aws.ToString(must[*cip.CreateUserPoolOutput](t)(api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("p")})).UserPool.Id)
		// No ExplicitAuthFlows: Cognito's defaults, which include SRP, as Amplify's apps have.
		clientID := aws.ToString(must[*cip.CreateUserPoolClientOutput](t)(api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
			UserPoolId: aws.String(poolID), ClientName: aws.String("web")})).UserPoolClient.ClientId)
		hidden := aws.ToString(must[*cip.CreateUserPoolClientOutput](t)(api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
			UserPoolId: aws.String(poolID), ClientName: aws.String("hidden"), PreventUserExistenceErrors: types.PreventUserExistenceErrorTypesEnabled})).UserPoolClient.ClientId)
		noSRP := aws.ToString(must[*cip.CreateUserPoolClientOutput](t)(api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
			UserPoolId: aws.String(poolID), ClientName: aws.String("pw"),
			ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth}})).UserPoolClient.ClientId)
		if _, err := e.idp.CreateUser(ctx, poolID, "alice", password, map[string]string{"email": "alice@example.com"}); err != nil {
			t.Fatal(err)
		}

		start := func(t *testing.T, client, user string, c *srpClient) (*cip.InitiateAuthOutput, error) {
			return api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserSrpAuth, ClientId: aws.String(client),
				AuthParameters: map[string]string{"USERNAME": user, "SRP_A": c.A.Text(16)}})
		}
		answer := func(client string, ch *cip.InitiateAuthOutput, resp map[string]string) (*cip.RespondToAuthChallengeOutput, error) {
			return api.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String(client),
				ChallengeName: types.ChallengeNameTypePasswordVerifier, Session: ch.Session, ChallengeResponses: resp})
		}

		t.Run("sign in", func(t *testing.T) {
			c := newSRPClient(t)
			ch := must[*cip.InitiateAuthOutput](t)(start(t, clientID, "alice", c))
			if ch.ChallengeName != types.ChallengeNameTypePasswordVerifier || ch.ChallengeParameters["USER_ID_FOR_SRP"] != "alice" {
				t.Fatalf("challenge %s %v", ch.ChallengeName, ch.ChallengeParameters)
			}
			out := must[*cip.RespondToAuthChallengeOutput](t)(answer(clientID, ch, c.respond(t, poolID, password, ch.ChallengeParameters, e.clock.Now())))
			claims := e.verify(t, poolID, aws.ToString(out.AuthenticationResult.IdToken))
			if claims["cognito:username"] != "alice" || aws.ToString(out.AuthenticationResult.RefreshToken) == "" {
				t.Fatalf("claims %v", claims)
			}
		})
		t.Run("wrong password burns the session", func(t *testing.T) {
			c := newSRPClient(t)
			ch := must[*cip.InitiateAuthOutput](t)(start(t, clientID, "alice", c))
			_, err := answer(clientID, ch, c.respond(t, poolID, "Wrong-Horse-1!", ch.ChallengeParameters, e.clock.Now()))
			apiErr(t, err, "NotAuthorizedException", "Incorrect username or password.")
			_, err = answer(clientID, ch, c.respond(t, poolID, password, ch.ChallengeParameters, e.clock.Now()))
			apiErr(t, err, "NotAuthorizedException", "Invalid session for the user, session is expired.")
		})
		t.Run("stale timestamp", func(t *testing.T) {
			c := newSRPClient(t)
			ch := must[*cip.InitiateAuthOutput](t)(start(t, clientID, "alice", c))
			_, err := answer(clientID, ch, c.respond(t, poolID, password, ch.ChallengeParameters, e.clock.Now().Add(-time.Hour)))
			apiErr(t, err, "NotAuthorizedException", "")
		})
		t.Run("password change replaces the verifier", func(t *testing.T) {
			if _, err := e.idp.CreateUser(ctx, poolID, "bob", password, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: aws.String(poolID), Username: aws.String("bob"),
				Password: aws.String("New-Horse-7!"), Permanent: true}); err != nil {
				t.Fatal(err)
			}
			c := newSRPClient(t)
			ch := must[*cip.InitiateAuthOutput](t)(start(t, clientID, "bob", c))
			must[*cip.RespondToAuthChallengeOutput](t)(answer(clientID, ch, c.respond(t, poolID, "New-Horse-7!", ch.ChallengeParameters, e.clock.Now())))
		})
		t.Run("temporary password leads to NEW_PASSWORD_REQUIRED", func(t *testing.T) {
			if _, err := api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(poolID), Username: aws.String("carol"),
				TemporaryPassword: aws.String(password), MessageAction: types.MessageActionTypeSuppress}); err != nil {
				t.Fatal(err)
			}
			c := newSRPClient(t)
			ch := must[*cip.InitiateAuthOutput](t)(start(t, clientID, "carol", c))
			out := must[*cip.RespondToAuthChallengeOutput](t)(answer(clientID, ch, c.respond(t, poolID, password, ch.ChallengeParameters, e.clock.Now())))
			if out.ChallengeName != types.ChallengeNameTypeNewPasswordRequired || aws.ToString(out.Session) == "" {
				t.Fatalf("got %s", out.ChallengeName)
			}
		})
		t.Run("unknown user", func(t *testing.T) {
			c := newSRPClient(t)
			_, err := start(t, clientID, "nobody", c)
			apiErr(t, err, "UserNotFoundException", "")
			// With user existence errors prevented, a challenge comes back that nothing answers.
			ch := must[*cip.InitiateAuthOutput](t)(start(t, hidden, "nobody", c))
			_, err = answer(hidden, ch, c.respond(t, poolID, password, ch.ChallengeParameters, e.clock.Now()))
			apiErr(t, err, "NotAuthorizedException", "Incorrect username or password.")
		})
		t.Run("bad input", func(t *testing.T) {
			for _, a := range []string{"", "0", clientN.Text(16), "xyz"} {
				_, err := api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserSrpAuth, ClientId: aws.String(clientID),
					AuthParameters: map[string]string{"USERNAME": "alice", "SRP_A": a}})
				apiErr(t, err, "InvalidParameterException", "")
			}
			_, err := start(t, noSRP, "alice", newSRPClient(t))
			apiErr(t, err, "InvalidParameterException", "USER_SRP_AUTH flow not enabled for this client")
			_, err = api.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String(clientID),
				ChallengeName: types.ChallengeNameTypePasswordVerifier, ChallengeResponses: map[string]string{"USERNAME": "alice"}})
			apiErr(t, err, "InvalidParameterException", "Missing required parameter PASSWORD_CLAIM_SECRET_BLOCK")
		})
	})
}
