package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
)

// IdPDirectory reads the built-in IdP's pools, users, groups and app clients for the IdP
// pages. NewIdPDirectory answers it with the IdP's own Cognito read operations.
type IdPDirectory interface {
	ListPools(ctx context.Context) ([]IdPPool, error)
	// ListUsers returns one page of a pool's users from token ("" = first) and the next
	// page's token ("" = last page).
	ListUsers(ctx context.Context, poolID, token string, limit int) ([]IdPUser, string, error)
	ListGroups(ctx context.Context, poolID string) ([]IdPGroup, error)
	// ListMembers returns up to limit members of a group and whether there are more.
	ListMembers(ctx context.Context, poolID, group string, limit int) ([]IdPUser, bool, error)
	ListClients(ctx context.Context, poolID string) ([]IdPClient, error)
}

// IdPPool, IdPUser, IdPGroup and IdPClient are what the pages show (no secrets: a client's
// secret and a user's password hash never reach the console).
type (
	IdPPool struct{ ID, Name string }
	IdPUser struct {
		Username, Status, Email string
		Enabled                 bool
	}
	IdPGroup struct {
		Name, Description string
		Members           []IdPUser
		More              bool
	}
	IdPClient struct{ ID, Name string }
)

// errNoPool is a pool that does not exist: the page answers 404.
var errNoPool = errors.New("no such user pool")

// cognitoDirectory calls the IdP's Cognito JSON API in process with the AWS SDK, signed with
// the node's own key pair: the same operations, paging and SigV4 check as any SDK client.
// ops, when set (WithIdPOperations), runs the IdP's operations for the console's IdP writes.
type cognitoDirectory struct {
	c   *cip.Client
	ops func(name string) (awsjson.Op, bool)
}

// NewIdPDirectory reads the IdP served by h (idp.IdP.Handler) as the given key pair; with
// WithIdPOperations it also changes it (idpeditdir.go).
func NewIdPDirectory(h http.Handler, region, accessKeyID, secret string, opts ...IdPDirectoryOption) IdPDirectory {
	if region == "" {
		region = "us-east-1"
	}
	d := cognitoDirectory{c: cip.New(cip.Options{
		Region:       region,
		BaseEndpoint: aws.String("http://idp.in-process"),
		Credentials:  credentials.NewStaticCredentialsProvider(accessKeyID, secret, ""),
		HTTPClient:   &http.Client{Transport: handlerTransport{h}},
		Retryer:      aws.NopRetryer{},
	})}
	for _, o := range opts {
		o(&d)
	}
	return d
}

// handlerTransport serves a request with a handler in process (no socket).
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	r.RemoteAddr = "127.0.0.1:0"
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

func notFound(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "ResourceNotFoundException" {
		return fmt.Errorf("%w: %s", errNoPool, ae.ErrorMessage())
	}
	return err
}

func (d cognitoDirectory) ListPools(ctx context.Context) ([]IdPPool, error) {
	var out []IdPPool
	p := cip.NewListUserPoolsPaginator(d.c, &cip.ListUserPoolsInput{MaxResults: aws.Int32(60)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list user pools: %w", err)
		}
		for _, u := range page.UserPools {
			out = append(out, IdPPool{ID: aws.ToString(u.Id), Name: aws.ToString(u.Name)})
		}
	}
	return out, nil
}

func user(username *string, status ciptypes.UserStatusType, enabled bool, attrs []ciptypes.AttributeType) IdPUser {
	u := IdPUser{Username: aws.ToString(username), Status: string(status), Enabled: enabled}
	for _, a := range attrs {
		if aws.ToString(a.Name) == "email" {
			u.Email = aws.ToString(a.Value)
		}
	}
	return u
}

func (d cognitoDirectory) ListUsers(ctx context.Context, poolID, token string, limit int) ([]IdPUser, string, error) {
	in := &cip.ListUsersInput{UserPoolId: aws.String(poolID), Limit: aws.Int32(int32(limit))}
	if token != "" {
		in.PaginationToken = aws.String(token)
	}
	out, err := d.c.ListUsers(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("list users: %w", notFound(err))
	}
	users := make([]IdPUser, 0, len(out.Users))
	for _, u := range out.Users {
		users = append(users, user(u.Username, u.UserStatus, u.Enabled, u.Attributes))
	}
	return users, aws.ToString(out.PaginationToken), nil
}

func (d cognitoDirectory) ListGroups(ctx context.Context, poolID string) ([]IdPGroup, error) {
	var out []IdPGroup
	p := cip.NewListGroupsPaginator(d.c, &cip.ListGroupsInput{UserPoolId: aws.String(poolID), Limit: aws.Int32(60)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list groups: %w", notFound(err))
		}
		for _, g := range page.Groups {
			out = append(out, IdPGroup{Name: aws.ToString(g.GroupName), Description: aws.ToString(g.Description)})
		}
	}
	return out, nil
}

func (d cognitoDirectory) ListMembers(ctx context.Context, poolID, group string, limit int) ([]IdPUser, bool, error) {
	out, err := d.c.ListUsersInGroup(ctx, &cip.ListUsersInGroupInput{UserPoolId: aws.String(poolID), GroupName: aws.String(group), Limit: aws.Int32(int32(limit))})
	if err != nil {
		return nil, false, fmt.Errorf("list members of %s: %w", group, notFound(err))
	}
	users := make([]IdPUser, 0, len(out.Users))
	for _, u := range out.Users {
		users = append(users, user(u.Username, u.UserStatus, u.Enabled, u.Attributes))
	}
	return users, aws.ToString(out.NextToken) != "", nil
}

func (d cognitoDirectory) ListClients(ctx context.Context, poolID string) ([]IdPClient, error) {
	var out []IdPClient
	p := cip.NewListUserPoolClientsPaginator(d.c, &cip.ListUserPoolClientsInput{UserPoolId: aws.String(poolID), MaxResults: aws.Int32(60)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list app clients: %w", notFound(err))
		}
		for _, c := range page.UserPoolClients {
			out = append(out, IdPClient{ID: aws.ToString(c.ClientId), Name: aws.ToString(c.ClientName)})
		}
	}
	return out, nil
}
