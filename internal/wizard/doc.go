// Package wizard turns an OpenAPI document, an identity source and a group → operations
// assignment into a Cedar schema, per-group policies and a gateway API definition, and keeps
// them in step when the document changes.
//
// It is the AWS console's "Set up with API Gateway and an identity provider" wizard as a
// library: [Parse] reads the document, [Generate] builds the files (nothing touches the disk
// until every check passed), [Result.WriteDir] writes them into a directory that
// `gatehouse apply` accepts and, when the directory holds an earlier output, updates what init
// wrote while keeping hand-written (or hand-edited) files and reporting policies that refer to
// actions the schema no longer has. [AccessMatrix] answers "which group may call which route"
// for such a directory with the decision engine.
package wizard
