// Package policy is Gatehouse's Cedar policy model: parsing static policies
// and templates, deriving their scope, linking templates, parsing and
// validating schemas, and reading entities and contexts with a schema as Cedar
// does (Schema.ConformEntity, Schema.ConformContext): once conformed, a value
// has exactly the type the schema declares. A Static's compiled policy is
// decided by cedar-go exactly as Cedar (Rust) decides the policy as written,
// including where cedar-go alone differs (cedarCompat), and Validate gives
// Cedar's STRICT verdict, accepting what Cedar only warns about.
//
// Everything here is pure: no I/O, no HTTP, no global state. Values returned
// by this package are immutable after construction and safe for concurrent
// use. This is the only Gatehouse package that imports cedar-go's
// experimental schema validator (x/exp/schema/validate), so a change in that
// unstable API is absorbed here.
package policy
