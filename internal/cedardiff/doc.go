// Package cedardiff holds the differential test of Gatehouse's Cedar layers against the Rust
// implementation of Cedar (the engine behind Verified Permissions), run through
// @cedar-policy/cedar-wasm under Node. It has no production code: the test generates seeded
// random schemas, entities, contexts, policies and requests, decides each through Gatehouse
// (cedarJson parsing, schema-directed reading, the indexed engine) and through Cedar, and
// requires the same decision, determining policies, erroring policies and rejections. It also
// requires the same STRICT validation verdict (rejected or accepted; Cedar's warnings accept) for
// every policy the generator draws and for shapes cedar-go's validator alone gets wrong.
package cedardiff
