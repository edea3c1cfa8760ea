package apidef_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
)

func FuzzHangTmp(f *testing.F) {
	f.Add(petStore)
	f.Add("name: x\nroutes:\n  - {route: \"ANY /{proxy+}\", authorizer: none, mock: {body: '$context.path'}}\nupstream: http://h\n")
	f.Fuzz(func(t *testing.T, doc string) {
		tm := time.AfterFunc(3*time.Second, func() { panic(fmt.Sprintf("HANG on %q", doc)) })
		defer tm.Stop()
		d, err := apidef.Parse([]byte(doc))
		if err == nil {
			_ = d.Validate()
		}
	})
}
