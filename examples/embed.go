// Package examples holds the example directories (one per source article) that `gatehouse
// apply` accepts; they are embedded so `gatehouse demo` can provision the PetStore one.
package examples

import "embed"

// FS holds every example directory.
//
//go:embed petstore groups-iam finance-abac role-map vet-clinic
var FS embed.FS
