package wizard_test

import (
	"context"
	"math/rand"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/wizard"
)

func TestZZHang(t *testing.T) {
	seeds := [][]byte{readDoc(t, "petstore.yaml"), readDoc(t, "stores.json"), readDoc(t, "swagger2.yaml")}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 3000; i++ {
		b := append([]byte(nil), seeds[i%3]...)
		for k := 0; k < 1+r.Intn(4); k++ {
			b[r.Intn(len(b))] = byte(r.Intn(256))
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			d, err := wizard.Parse(context.Background(), b)
			if err != nil {
				return
			}
			wizard.Generate(d, wizard.Options{Upstream: "http://127.0.0.1:9", Identity: wizard.IdentitySource{PoolID: "us-east-1_Fuzz"},
				Allow: []wizard.Assignment{{Group: "g", Operations: []string{"GET /"}}}})
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			os.WriteFile("/tmp/hang.bin", b, 0o644)
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("hang at %d:\n%s", i, buf[:n])
		}
	}
}
