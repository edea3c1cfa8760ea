package wizard

import (
	_ "github.com/getkin/kin-openapi/openapi2"
	_ "github.com/getkin/kin-openapi/openapi2conv"
	_ "github.com/getkin/kin-openapi/openapi3"
)
