package examples_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/sampleapi"
)

const nginxConf = `daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  server {
    listen %[2]s;
    # Every request is decided by Gatehouse first; only allowed ones reach the upstream.
    location /demo/ {
      auth_request /_gatehouse;
      auth_request_set $gh_principal $upstream_http_x_gatehouse_principal;
      auth_request_set $gh_decision $upstream_http_x_gatehouse_decision_id;
      proxy_set_header X-Gatehouse-Principal $gh_principal;
      proxy_set_header X-Gatehouse-Decision-Id $gh_decision;
      proxy_pass %[3]s/;
    }
    location = /_gatehouse {
      internal;
      proxy_pass %[4]s/apis/PetStore;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Real-IP $remote_addr;
    }
  }
}
`

// TestNginxForwardAuth puts real nginx in front of the pet store with auth_request to
// Gatehouse's forward-auth endpoint and runs scenario 2.1's rows through it.
func TestNginxForwardAuth(t *testing.T) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		if _, e := os.Stat("/usr/sbin/nginx"); e == nil {
			nginx = "/usr/sbin/nginx"
		} else if os.Getenv("CI") != "" {
			t.Fatal("nginx is not installed; .ci/run installs it")
		} else {
			t.Skip("nginx not installed (apt-get install nginx-light); CI always runs this test")
		}
	}
	cfg := apptest.WithIdP(t, apptest.Config(t, "sqlite"))
	cfg.ForwardAuthListen = "127.0.0.1:0"
	e := &env{t: t, node: apptest.Start(t, cfg), vars: map[string]string{}}
	pool, client, _ := e.pool("PetStorePool", []string{"customers", "employees", "owners"},
		map[string][]string{"carol": {"customers"}, "erin": {"employees"}, "oscar": {"owners"}}, "petstore/api")
	upstream := e.upstream(sampleapi.PetStore())
	e.vars["POOL_ID"], e.vars["UPSTREAM"] = pool, upstream
	e.apply("petstore")

	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	conf := filepath.Join(dir, "nginx.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(nginxConf, dir, addr, upstream, "http://"+e.node.Addr("forward-auth"))), 0o644)
	cmd := exec.Command(nginx, "-p", dir, "-c", conf)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if i > 100 {
			t.Fatal("nginx did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}

	c, em, o := e.token(pool, client, "carol", false), e.token(pool, client, "erin", false), e.token(pool, client, "oscar", false)
	rows := []struct {
		name, method, path, token string
		status                    int
	}{
		{"root", "GET", "/demo/", "", 200},
		{"pets without token", "GET", "/demo/pets", "", 401},
		{"customer lists pets", "GET", "/demo/pets", c, 200},
		{"customer adds pet", "POST", "/demo/pets", c, 403},
		{"employee adds pet", "POST", "/demo/pets", em, 400}, // reached the upstream, which wants a body
		{"employee admin", "GET", "/demo/admin/curltest1", em, 403},
		{"owner admin reaches upstream", "GET", "/demo/admin/curltest1", o, 404}, // allowed; the pet store has no /admin
		{"dot-segment smuggling", "GET", "/demo/pets/../admin/x", em, 403},
		{"encoded slash", "GET", "/demo/admin%2Fx", em, 403},
	}
	for _, r := range rows {
		req, _ := http.NewRequest(r.method, "http://"+addr+r.path, strings.NewReader(""))
		if r.token != "" {
			req.Header.Set("Authorization", "Bearer "+r.token)
		}
		req.Header.Set("X-Gatehouse-Principal", "spoofed-admin") // must never reach the upstream as is
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != r.status {
			t.Errorf("%s: %s %s through nginx → %d, want %d", r.name, r.method, r.path, resp.StatusCode, r.status)
		}
	}
}
