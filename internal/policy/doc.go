// Package policy is Gatehouse's Cedar policy model: parsing static policies
// and templates, deriving their scope, linking templates, and parsing and
// validating schemas.
//
// Everything here is pure: no I/O, no HTTP, no global state. Values returned
// by this package are immutable after construction and safe for concurrent
// use. This is the only Gatehouse package that imports cedar-go's
// experimental schema validator (x/exp/schema/validate), so a change in that
// unstable API is absorbed here.
package policy
