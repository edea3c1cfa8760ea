// Package iam parses IAM policy documents and evaluates them against API
// Gateway method ARNs, as API Gateway does with a Lambda authorizer's policy.
//
// Parse compiles a document once (wildcard patterns, CIDRs, times and numbers
// are parsed up front) so that Evaluate does no parsing and no allocation on
// the request path. Evaluation follows IAM: any applicable Deny gives
// ExplicitDeny, otherwise any applicable Allow gives Allow, otherwise the
// result is ImplicitDeny. Several policies are evaluated as the union of
// their statements, which is how a user in several groups is authorized.
//
// The package fails closed: a document it cannot fully understand (unknown
// element, unknown condition operator, policy variable, wrong type) is a
// parse error rather than something partially applied, and a condition on a
// key the request does not know never holds.
package iam
