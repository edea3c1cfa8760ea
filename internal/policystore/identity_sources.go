package policystore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// IdentitySource is a trusted token issuer of a policy store, in AVP's configuration shape.
// Unlike AVP a store may have several (one per user pool, as article 004's unified layer
// needs); the token's issuer picks one, so two sources of a store may not share an issuer.
type IdentitySource struct {
	ID                  string                 `json:"id"`
	Configuration       identity.Configuration `json:"configuration"`
	PrincipalEntityType string                 `json:"principalEntityType,omitempty"`
	// Issuer is derived from the configuration (and the Cognito endpoint override).
	Issuer string `json:"issuer"`
	// CognitoEndpoint is the issuer base used for a Cognito pool that lives in the built-in
	// IdP or an emulator; "" for AWS.
	CognitoEndpoint string    `json:"cognitoEndpoint,omitempty"`
	Created         time.Time `json:"-"`
	Updated         time.Time `json:"-"`
}

// Source compiles the identity source for token validation.
func (is IdentitySource) Source() (*identity.Source, error) {
	return identity.SourceFromAVP(is.ID, is.Configuration, is.PrincipalEntityType, identity.SourceOptions{CognitoEndpoint: is.CognitoEndpoint})
}

// CognitoEndpointFunc returns the issuer base for a Cognito pool id that is served locally
// (the built-in IdP), or "" for a pool in AWS.
type CognitoEndpointFunc func(ctx context.Context, poolID string) string

// WithCognitoEndpoint makes identity sources naming local pools use the local issuer.
func WithCognitoEndpoint(f CognitoEndpointFunc) Option {
	return func(s *Service) { s.cognitoEndpoint = f }
}

// IdentitySourceInput are Create/UpdateIdentitySource's parameters.
type IdentitySourceInput struct {
	ClientToken         string
	Configuration       identity.Configuration
	PrincipalEntityType string
}

func (s *Service) resolveSource(ctx context.Context, id string, in IdentitySourceInput, path string) (IdentitySource, error) {
	is := IdentitySource{ID: id, Configuration: in.Configuration, PrincipalEntityType: in.PrincipalEntityType}
	if c := in.Configuration.CognitoUserPoolConfiguration; c != nil && s.cognitoEndpoint != nil {
		if _, poolID, err := identity.CognitoIssuer(c.UserPoolARN, ""); err == nil {
			is.CognitoEndpoint = s.cognitoEndpoint(ctx, poolID)
		}
	}
	src, err := is.Source()
	if err != nil {
		var fe *identity.FieldError
		if errors.As(err, &fe) {
			field := fe.Field
			if path != "configuration" && len(field) >= len("configuration") && field[:len("configuration")] == "configuration" {
				field = path + field[len("configuration"):]
			}
			return is, invalid(field, "%s", fe.Message)
		}
		return is, invalid(path, "%v", err)
	}
	is.Issuer = src.Issuer
	return is, nil
}

func getIdentitySource(ctx context.Context, r store.Reader, storeID, id string) (IdentitySource, error) {
	o, err := r.Get(ctx, storeID, KindIdentitySource, id)
	if err != nil {
		return IdentitySource{}, notFound(err, ResourceIdentitySource, id)
	}
	is, err := decode[IdentitySource](o)
	is.Created, is.Updated = o.Created, o.Updated
	return is, err
}

func issuerConflict(err error, issuer string) error {
	if errors.Is(err, store.ErrConflict) {
		return &ConflictError{Message: fmt.Sprintf("another identity source of this policy store already trusts issuer %s", issuer),
			ResourceType: ResourceIdentitySource, ResourceID: issuer}
	}
	return err
}

// CreateIdentitySource adds an identity source to a store.
func (s *Service) CreateIdentitySource(ctx context.Context, storeID string, in IdentitySourceInput) (IdentitySource, error) {
	is, err := s.resolveSource(ctx, newID("IS"), in, "configuration")
	if err != nil {
		return IdentitySource{}, err
	}
	var out IdentitySource
	err = s.st.Update(ctx, func(tx store.Tx) error {
		if _, err := requireStore(ctx, tx, storeID); err != nil {
			return err
		}
		prior, save, err := s.clientToken(ctx, tx, storeID, "CreateIdentitySource", in.ClientToken, in)
		if err != nil {
			return err
		}
		if prior != "" {
			out, err = getIdentitySource(ctx, tx, storeID, prior)
			return err
		}
		// The issuer is the unique name: a token's iss must select exactly one source.
		if err := tx.Create(ctx, store.Object{Scope: storeID, Kind: KindIdentitySource, ID: is.ID, Name: is.Issuer, Data: encode(is)}); err != nil {
			return issuerConflict(err, is.Issuer)
		}
		if err := save(is.ID); err != nil {
			return err
		}
		out, err = getIdentitySource(ctx, tx, storeID, is.ID)
		return err
	})
	return out, err
}

// GetIdentitySource returns one identity source.
func (s *Service) GetIdentitySource(ctx context.Context, storeID, id string) (IdentitySource, error) {
	if _, err := requireStore(ctx, s.st, storeID); err != nil {
		return IdentitySource{}, err
	}
	return getIdentitySource(ctx, s.st, storeID, id)
}

// UpdateIdentitySource replaces an identity source's configuration.
func (s *Service) UpdateIdentitySource(ctx context.Context, storeID, id string, in IdentitySourceInput) (IdentitySource, error) {
	is, err := s.resolveSource(ctx, id, in, "updateConfiguration")
	if err != nil {
		return IdentitySource{}, err
	}
	var out IdentitySource
	err = s.st.Update(ctx, func(tx store.Tx) error {
		if _, err := requireStore(ctx, tx, storeID); err != nil {
			return err
		}
		if _, err := getIdentitySource(ctx, tx, storeID, id); err != nil {
			return err
		}
		if err := tx.Put(ctx, store.Object{Scope: storeID, Kind: KindIdentitySource, ID: id, Name: is.Issuer, Data: encode(is)}); err != nil {
			return issuerConflict(err, is.Issuer)
		}
		out, err = getIdentitySource(ctx, tx, storeID, id)
		return err
	})
	return out, err
}

// DeleteIdentitySource removes an identity source.
func (s *Service) DeleteIdentitySource(ctx context.Context, storeID, id string) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		if _, err := requireStore(ctx, tx, storeID); err != nil {
			return err
		}
		if err := tx.Delete(ctx, storeID, KindIdentitySource, id); err != nil {
			return notFound(err, ResourceIdentitySource, id)
		}
		return nil
	})
}

// ListIdentitySources pages through a store's identity sources.
func (s *Service) ListIdentitySources(ctx context.Context, storeID, pageToken string, max int) ([]IdentitySource, string, error) {
	n, err := PageSize(max)
	if err != nil {
		return nil, "", err
	}
	if _, err := requireStore(ctx, s.st, storeID); err != nil {
		return nil, "", err
	}
	objs, next, err := s.st.List(ctx, store.Query{Scope: storeID, Kind: KindIdentitySource, PageToken: pageToken, Limit: n})
	if errors.Is(err, store.ErrBadPageToken) {
		return nil, "", invalid("nextToken", "is not a token returned by this operation")
	}
	if err != nil {
		return nil, "", err
	}
	out := make([]IdentitySource, 0, len(objs))
	for _, o := range objs {
		is, err := decode[IdentitySource](o)
		if err != nil {
			return nil, "", err
		}
		is.Created, is.Updated = o.Created, o.Updated
		out = append(out, is)
	}
	return out, next, nil
}
