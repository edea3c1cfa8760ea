#!/usr/bin/env bash
# shellcheck disable=SC2059 # table rows share one printf format kept in a variable
# bench/peers.sh: Gatehouse side by side with its peers on 127.0.0.1 (see bench/README.md,
# "Peers"). Run only when asked, never in CI: it builds the peers from the Go module proxy.
#
#   Proxy path:   a bare httputil.ReverseProxy (bench/cmd/bareproxy), the gateway's jwt and cedar
#                 routes, and Ory Oathkeeper (jwt authenticator on the same JWKS, allow
#                 authorizer), all in front of bench/cmd/upstream.
#   Forward-auth: Gatehouse's forward-auth endpoint and OPA (`opa run --server`, the Rego policy
#                 bench/testdata/peers/opa-policy.rego), without and with OPA's JWT cache.
#
# Every contender gets the same access token (the built-in IdP's, user alice in group employees)
# and the same rule. Rounds are interleaved; the best round of each contender is kept; figures
# are reported as ratios against the bare proxy measured in the same run.
#
# Everything it starts is stopped on exit (trap EXIT; servers also run under `timeout`, so
# nothing outlives PEERS_MAX_LIFETIME). Raw outputs go to bench/results/peers-<UTC time>/.
#
# Settings (environment):
#   GATEHOUSE_BIN        use this gatehouse binary instead of building one
#   PEERS_CACHE          where the peers are built and kept (default ~/.cache/gatehouse-bench-peers)
#   PEERS_OPA_VERSION    OPA module version (default v1.22.3)
#   PEERS_OATHKEEPER_VERSION  Ory Oathkeeper module version (default v0.40.9, the last v0.x)
#   PEERS_ROUNDS         interleaved rounds (default 4; the best round is kept)
#   PEERS_DURATION       wrk and rateload duration per run (default 2s)
#   PEERS_CONNECTIONS    wrk connections (default 32; wrk always uses 2 threads)
#   PEERS_BASE_PORT      first of 10 consecutive ports on 127.0.0.1 (default 19280)
#   PEERS_MAX_LIFETIME   seconds after which any server this script started is killed (default 600)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse-bench-peers}
OPA_VERSION=${PEERS_OPA_VERSION:-v1.22.3}
OK_VERSION=${PEERS_OATHKEEPER_VERSION:-v0.40.9}
ROUNDS=${PEERS_ROUNDS:-4}
DUR=${PEERS_DURATION:-2s}
CONNS=${PEERS_CONNECTIONS:-32}
BASE_PORT=${PEERS_BASE_PORT:-19280}
MAX_LIFETIME=${PEERS_MAX_LIFETIME:-600}

ADMIN_PORT=$BASE_PORT
GW_PORT=$((BASE_PORT + 1))
IDP_PORT=$((BASE_PORT + 2))
FA_PORT=$((BASE_PORT + 3))
UP_PORT=$((BASE_PORT + 4))
BARE_PORT=$((BASE_PORT + 5))
OK_PORT=$((BASE_PORT + 6))
OK_API_PORT=$((BASE_PORT + 7))
OPA_PORT=$((BASE_PORT + 8))
OPAC_PORT=$((BASE_PORT + 9))
ADMIN=http://127.0.0.1:$ADMIN_PORT

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS=$ROOT/bench/results/peers-$STAMP
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-peers.XXXXXX")
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

mkdir -p "$RESULTS" "$CACHE/bin"
log "results in $RESULTS"
for tool in wrk curl jq timeout awk sed go; do
	command -v "$tool" >/dev/null || die "$tool is not installed"
done
for p in $(seq "$BASE_PORT" $((BASE_PORT + 9))); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		die "port $p on 127.0.0.1 is in use; set PEERS_BASE_PORT"
	fi
done

SUMMARY=$RESULTS/summary.txt
: >"$SUMMARY"
say() { printf '%s\n' "$*" | tee -a "$SUMMARY"; }

# --- build -------------------------------------------------------------------------------------
mkdir -p "$WORK/bin"
if [ -n "${GATEHOUSE_BIN:-}" ]; then
	cp "$GATEHOUSE_BIN" "$WORK/bin/gatehouse"
else
	log "building gatehouse"
	(cd "$ROOT" && go build -o "$WORK/bin/gatehouse" ./cmd/gatehouse)
fi
log "building bench tools"
(cd "$ROOT" && go build -o "$WORK/bin/" ./bench/cmd/upstream ./bench/cmd/bareproxy ./bench/cmd/rateload ./bench/cmd/gwsetup)
GH=$WORK/bin/gatehouse

# Peers are built once per version into $CACHE/bin/<name>-<version>. A peer that cannot be
# built is reported and left out; the rest is still measured.
OPA=$CACHE/bin/opa-$OPA_VERSION
OK=$CACHE/bin/oathkeeper-$OK_VERSION
MISSING=()
if [ ! -x "$OPA" ]; then
	log "building OPA $OPA_VERSION (go install github.com/open-policy-agent/opa@$OPA_VERSION)"
	if (cd "$CACHE" && GOBIN=$CACHE/gobin-opa go install "github.com/open-policy-agent/opa@$OPA_VERSION") >"$RESULTS/build-opa.log" 2>&1; then
		mv "$CACHE/gobin-opa/opa" "$OPA"
	else
		MISSING+=("OPA $OPA_VERSION: go install failed: $(tail -2 "$RESULTS/build-opa.log" | tr '\n' ' ')")
	fi
fi
if [ ! -x "$OK" ]; then
	# `go install github.com/ory/oathkeeper@VERSION` fails here: the go command asks the module
	# proxy for the module's version list (to look for a deprecation notice) and the proxy
	# answers 403 for that list while it serves the version itself. A throwaway module that
	# requires the version, with the replace directive of oathkeeper's own go.mod, builds it.
	log "building Ory Oathkeeper $OK_VERSION from the Go module proxy"
	okmod=$CACHE/oathkeeper-$OK_VERSION-build
	mkdir -p "$okmod"
	printf 'module peers.local/oathkeeper\n\ngo 1.26\n\nreplace github.com/mattn/go-sqlite3 => github.com/mattn/go-sqlite3 v1.14.10\n' >"$okmod/go.mod"
	if (cd "$okmod" && go get "github.com/ory/oathkeeper@$OK_VERSION" && go build -o "$OK" github.com/ory/oathkeeper) >"$RESULTS/build-oathkeeper.log" 2>&1; then
		:
	else
		MISSING+=("Ory Oathkeeper $OK_VERSION: not built from the Go module proxy: $(tail -2 "$RESULTS/build-oathkeeper.log" | tr '\n' ' ')")
	fi
fi
HAVE_OPA=; [ -x "$OPA" ] && HAVE_OPA=1
HAVE_OK=; [ -x "$OK" ] && HAVE_OK=1

# --- helpers -----------------------------------------------------------------------------------

# wait_http URL PIDVAR: waits up to 30 s for URL to answer at all, failing early if the process died.
wait_http() {
	local url=$1 pid=$2
	for _ in $(seq 300); do
		curl -sS -o /dev/null --max-time 1 "$url" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || die "process for $url exited; see its log in $RESULTS"
		sleep 0.1
	done
	die "$url did not answer within 30 s"
}



RAW=$RESULTS/raw.tsv
printf 'kind\tname\tround\trps\tp50_ms\tp99_ms\tbad\tcpu_us_per_req\n' >"$RAW"

# run_wrk NAME ROUND URL [wrk args...]: one max-load run, appended to raw.tsv.
run_wrk() {
	local name=$1 round=$2 url=$3 out
	shift 3
	out=$RESULTS/wrk-$name-r$round.txt
	log "wrk $name (round $round, $DUR, $CONNS connections)"
	timeout -k 5 60 wrk -t2 -c"$CONNS" -d"$DUR" --latency "$@" "$url" >"$out" 2>&1 || die "wrk $name failed: $(tail -3 "$out")"
	local rps p50 p99 non2xx errs
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
	p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
	p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
	errs=$(awk '/Socket errors:/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}' "$out")
	[ -n "$rps" ] || die "wrk $name: no result in $out"
	printf 'max\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$round" "$rps" "$p50" "$p99" $((${non2xx:-0} + ${errs:-0})) >>"$RAW"
}

# best NAME: the max-load round with the highest req/s, as "rps p50 p99 bad".
best() {
	awk -F'\t' -v name="$1" '$1 == "max" && $2 == name && $4 + 0 > best + 0 {
		best = $4; line = $4 " " $5 " " $6 " " $7 } END { print line }' "$RAW"
}

# min_cpu NAME: the lowest CPU µs per request over the constant-rate rounds (the least disturbed).
min_cpu() {
	awk -F'\t' -v name="$1" '$1 == "rate" && $2 == name && (low == "" || $8 + 0 < low + 0) { low = $8 } END { print low }' "$RAW"
}

# lowest_p99 NAME: the constant-rate round with the lowest p99, as "rps p50 p99 bad".
lowest_p99() {
	awk -F'\t' -v name="$1" '$1 == "rate" && $2 == name && (line == "" || $6 + 0 < low + 0) {
		low = $6; line = $4 " " $5 " " $6 " " $7 } END { print line }' "$RAW"
}

# fill FILE: a copy of FILE in $WORK with its @NAME@ placeholders filled; prints the copy's path.
fill() {
	local out
	out=$WORK/$(basename "$1")
	sed -e "s|@PROXY_PORT@|$OK_PORT|g" -e "s|@API_PORT@|$OK_API_PORT|g" -e "s|@RULES@|$WORK/oathkeeper-rules.json|g" \
		-e "s|@JWKS_URL@|$JWKS_URL|g" -e "s|@ISSUER@|$ISSUER|g" -e "s|@UPSTREAM@|http://127.0.0.1:$UP_PORT|g" "$1" >"$out"
	printf '%s' "$out"
}

# --- Gatehouse, identities, upstream, bare proxy -----------------------------------------------
GATEHOUSE_ACCESS_KEY_ID="AKIDPEERS$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)"
GATEHOUSE_SECRET_ACCESS_KEY="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
export GATEHOUSE_ACCESS_KEY_ID GATEHOUSE_SECRET_ACCESS_KEY
export GATEHOUSE_LOG_LEVEL=warn
# No load balancer to drain from: stop at once on SIGTERM instead of serving on for
# shutdownDelay (5 s), which outlasts cleanup's wait and ended in SIGKILL.
export GATEHOUSE_SHUTDOWN_DELAY=0s
log "starting gatehouse serve on a fresh SQLite file"
start gatehouse "$GH" serve --db "$WORK/gatehouse.db" --admin-listen "127.0.0.1:$ADMIN_PORT" \
	--listen "127.0.0.1:$GW_PORT" --idp-listen "127.0.0.1:$IDP_PORT" --forward-auth-listen "127.0.0.1:$FA_PORT" \
	--ext-authz-listen off
start upstream "$WORK/bin/upstream" -listen "127.0.0.1:$UP_PORT"
start bareproxy "$WORK/bin/bareproxy" -listen "127.0.0.1:$BARE_PORT" -upstream "http://127.0.0.1:$UP_PORT"
wait_http "$ADMIN/healthz" "${PID[gatehouse]}"
wait_http "http://127.0.0.1:$UP_PORT/" "${PID[upstream]}"
wait_http "http://127.0.0.1:$BARE_PORT/" "${PID[bareproxy]}"

log "creating a user pool, client, group and user in the built-in IdP"
"$WORK/bin/gwsetup" -idp "http://127.0.0.1:$IDP_PORT" >"$WORK/ids.sh" 2>"$RESULTS/gwsetup.log" ||
	die "gwsetup: $(tail -3 "$RESULTS/gwsetup.log")"
# shellcheck disable=SC1091
. "$WORK/ids.sh"
POOL_ID=$POOL_ID POOL_ARN=$POOL_ARN CLIENT_ID=$CLIENT_ID UPSTREAM=http://127.0.0.1:$UP_PORT \
	"$GH" apply "$ROOT/bench/testdata/gateway/store" --endpoint "$ADMIN" >"$RESULTS/apply-gateway.log" 2>&1 ||
	die "apply gateway store: $(tail -5 "$RESULTS/apply-gateway.log")"
ISSUER=$(printf '%s' "$ACCESS_TOKEN" | cut -d. -f2 | tr '_-' '/+' | base64 -d 2>/dev/null | jq -r .iss) || true
[ -n "$ISSUER" ] && [ "$ISSUER" != null ] || die "cannot read iss from the access token"
JWKS_URL=http://127.0.0.1:$IDP_PORT/$POOL_ID/.well-known/jwks.json
curl -fsS --max-time 5 "$JWKS_URL" >"$WORK/jwks.json" || die "GET $JWKS_URL failed"
jq -e '.keys | length > 0' "$WORK/jwks.json" >/dev/null || die "$JWKS_URL has no keys"
log "issuer $ISSUER"

# --- peers -------------------------------------------------------------------------------------
if [ -n "$HAVE_OK" ]; then
	fill "$ROOT/bench/testdata/peers/oathkeeper-rules.json" >/dev/null
	okconf=$(fill "$ROOT/bench/testdata/peers/oathkeeper.yaml")
	start oathkeeper "$OK" serve --config "$okconf"
	wait_http "http://127.0.0.1:$OK_API_PORT/health/ready" "${PID[oathkeeper]}"
fi
if [ -n "$HAVE_OPA" ]; then
	jq -n --rawfile jwks "$WORK/jwks.json" --arg iss "$ISSUER" --arg client "$CLIENT_ID" \
		'{bench: {jwks: $jwks, issuer: $iss, client_id: $client}}' >"$WORK/data.json"
	cp "$ROOT/bench/testdata/peers/opa-policy.rego" "$WORK/policy.rego"
	start opa "$OPA" run --server --addr "127.0.0.1:$OPA_PORT" --log-level error "$WORK/policy.rego" "$WORK/data.json"
	start opa-cache "$OPA" run --server --addr "127.0.0.1:$OPAC_PORT" --log-level error \
		--config-file "$ROOT/bench/testdata/peers/opa-jwt-cache.yaml" "$WORK/policy.rego" "$WORK/data.json"
	wait_http "http://127.0.0.1:$OPA_PORT/health" "${PID[opa]}"
	wait_http "http://127.0.0.1:$OPAC_PORT/health" "${PID[opa-cache]}"
	# The input a proxy sends (Envoy ext_authz's CheckRequest shape), as the `input` query
	# parameter of OPA's GET data API: the same request for wrk and rateload, which only GET.
	OPA_INPUT=$(jq -cn --arg auth "Bearer $ACCESS_TOKEN" \
		'{attributes: {request: {http: {method: "GET", path: "/pets", headers: {authorization: $auth}}}}}')
	OPA_QS=?input=$(jq -rn --arg v "$OPA_INPUT" '$v | @uri')
fi

# --- contenders --------------------------------------------------------------------------------
AUTH="Authorization: Bearer $ACCESS_TOKEN"
OPA_QUERY=/v1/data/gatehouse/bench/allow
names=(bareproxy gw-jwt gw-cedar)
[ -n "$HAVE_OK" ] && names+=(oathkeeper)
names+=(fa-gatehouse)
[ -n "$HAVE_OPA" ] && names+=(opa opa-jwtcache)
declare -A url=(
	[bareproxy]=http://127.0.0.1:$BARE_PORT/pets
	[gw-jwt]=http://127.0.0.1:$GW_PORT/bench/jwt/pets
	[gw-cedar]=http://127.0.0.1:$GW_PORT/bench/cedar/pets
	[oathkeeper]=http://127.0.0.1:$OK_PORT/pets
	[fa-gatehouse]=http://127.0.0.1:$FA_PORT/apis/bench
	[opa]=http://127.0.0.1:$OPA_PORT$OPA_QUERY${OPA_QS:-}
	[opa-jwtcache]=http://127.0.0.1:$OPAC_PORT$OPA_QUERY${OPA_QS:-}
)
# The process serving each contender, whose CPU time is measured at the constant rate.
declare -A proc=([bareproxy]=bareproxy [gw-jwt]=gatehouse [gw-cedar]=gatehouse [oathkeeper]=oathkeeper
	[fa-gatehouse]=gatehouse [opa]=opa [opa-jwtcache]=opa-cache)
# args NAME: the load tools' extra arguments for NAME, one per line (wrk and rateload share -H).
args() {
	case $1 in
	fa-gatehouse) printf '%s\n' -H "$AUTH" -H "X-Original-Method: GET" -H "X-Original-URI: /bench/cedar/pets" ;;
	*) printf '%s\n' -H "$AUTH" ;;
	esac
}
# check NAME: one request as the load will send it; it must be allowed.
check() {
	local n=$1 code body=$RESULTS/check-$1.txt
	for _ in $(seq 20); do
		local -a a
		mapfile -t a < <(args "$n")
		code=$(curl -sS -o "$body" -w '%{http_code}' --max-time 5 "${a[@]}" "${url[$n]}") || code=000
		if [ "$code" = 200 ]; then
			case $n in
			opa | opa-jwtcache) jq -e '.result == true' "$body" >/dev/null && return 0 ;;
			*) return 0 ;;
			esac
		fi
		sleep 0.25
	done
	die "$n: ${url[$n]} answered $code, want 200 (and result true for OPA): $(head -c 300 "$body")"
}
for n in "${names[@]}"; do check "$n"; done
# Without the token, and with its signature altered, every contender but the bare proxy must
# refuse: they do verify it.
sig=${ACCESS_TOKEN##*.}
case ${sig:0:1} in A) flip=B ;; *) flip=A ;; esac
TAMPERED=${ACCESS_TOKEN%.*}.$flip${sig:1}
for bad in none tampered; do
	for n in "${names[@]}"; do
		[ "$n" = bareproxy ] && continue
		a=()
		hdr=
		[ "$bad" = tampered ] && hdr="Bearer $TAMPERED"
		[ -n "$hdr" ] && a=(-H "Authorization: $hdr")
		u=${url[$n]}
		case $n in
		fa-gatehouse) a+=(-H "X-Original-Method: GET" -H "X-Original-URI: /bench/cedar/pets") ;;
		opa | opa-jwtcache) u=${u%%\?*}?input=$(jq -rn --arg h "$hdr" '{attributes: {request: {http: {method: "GET", path: "/pets",
			headers: (if $h == "" then {} else {authorization: $h} end)}}}} | tojson | @uri') ;;
		esac
		code=$(curl -sS -o "$RESULTS/refuse-$bad-$n.txt" -w '%{http_code}' --max-time 5 "${a[@]}" "$u") || code=000
		case $n in
		opa | opa-jwtcache) jq -e '.result == false' "$RESULTS/refuse-$bad-$n.txt" >/dev/null || die "$n allowed a request with token $bad" ;;
		*) [ "$code" = 401 ] || [ "$code" = 403 ] || die "$n answered $code to a request with token $bad, want 401 or 403" ;;
		esac
	done
done
log "checks passed: every contender allows the token, and refuses no token and an altered signature"

say "gatehouse bench/peers.sh  $(date -u '+%Y-%m-%d %H:%M:%S UTC')  $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')${GATEHOUSE_BIN:+  (gatehouse: $GATEHOUSE_BIN, built $(date -u -r "$GATEHOUSE_BIN" '+%H:%M UTC'))}"
say "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
say "peers: OPA $([ -n "$HAVE_OPA" ] && echo "$OPA_VERSION" || echo 'not measured'); Ory Oathkeeper $([ -n "$HAVE_OK" ] && echo "$OK_VERSION" || echo 'not measured')"
for m in "${MISSING[@]}"; do say "  left out: $m"; done
say ""

for round in $(seq "$ROUNDS"); do
	for n in "${names[@]}"; do
		mapfile -t a < <(args "$n")
		run_wrk "$n" "$round" "${url[$n]}" "${a[@]}"
	done
done

# Constant rate: half of the slowest contender's best req/s, the same for every contender, so
# latencies compare like with like (open loop, latency from the scheduled send time).
slowest=$(for n in "${names[@]}"; do best "$n" | cut -d' ' -f1; done | sort -g | head -1)
RATE=$(awk -v r="$slowest" 'BEGIN { printf "%d", r / 2 }')
[ "$RATE" -ge 1 ] || RATE=1
for round in $(seq "$ROUNDS"); do
	for n in "${names[@]}"; do
		out=$RESULTS/rateload-$n-r$round.txt
		mapfile -t ra < <(args "$n")
		spid=$(server_pid "${proc[$n]}")
		[ -n "$spid" ] || die "no process for $n"
		log "rateload $n (round $round, $RATE req/s, $DUR)"
		t0=$(cpu_ticks "$spid")
		timeout -k 5 60 "$WORK/bin/rateload" -url "${url[$n]}" -rate "$RATE" -d "$DUR" -c "$CONNS" "${ra[@]}" \
			>"$out" 2>&1 || die "rateload $n failed: $(tail -3 "$out")"
		t1=$(cpu_ticks "$spid")
		awk -v n="$n" -v round="$round" -v d=$((t1 - t0)) -v hz="$CLK_TCK" '/^RESULT/ {
			for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			printf "rate\t%s\t%s\t%s\t%s\t%s\t%d\t%.1f\n", n, round, v["rps"], v["p50_ms"], v["p99_ms"], v["non2xx"] + v["errors"],
				(v["n"] > 0 ? d / hz * 1e6 / v["n"] : 0) }' "$out" >>"$RAW"
	done
done

# --- table -------------------------------------------------------------------------------------
read -r -a b <<<"$(best bareproxy)"
read -r -a hb <<<"$(lowest_p99 bareproxy)"
say "Max load: wrk -t2 -c$CONNS -d$DUR --latency, best of $ROUNDS interleaved rounds (highest req/s)."
say "Constant rate: bench/cmd/rateload at $RATE req/s (half the slowest contender's max) for every contender, -c $CONNS, $DUR;"
say "  latency from the scheduled send time; of $ROUNDS interleaved rounds the lowest p99 is kept; got = req/s sent"
say "  (below the rate: overloaded); cpu us = CPU time of the contender's process per request, lowest round (the"
say "  upstream's not included; forward-auth contenders do not proxy)."
say "Ratios: against bareproxy of the same run (req/s: higher is better; latency: lower is better)."
fmt='%-14s %8s %6s %7s %7s %4s | %6s %7s %7s %6s %6s %4s %6s %5s'
say "$(printf "$fmt" contender 'req/s' 'x bare' 'p50 x' 'p99 x' bad 'got' 'p50 ms' 'p99 ms' 'p50 x' 'p99 x' bad 'cpu us' 'cpu x')"
bcpu=$(min_cpu bareproxy)
for n in "${names[@]}"; do
	read -r -a r <<<"$(best "$n")"
	read -r -a h <<<"$(lowest_p99 "$n")"
	say "$(awk -v n="$n" -v rps="${r[0]}" -v p50="${r[1]}" -v p99="${r[2]}" -v bad="${r[3]}" \
		-v b0="${b[0]}" -v b50="${b[1]}" -v b99="${b[2]}" \
		-v h0="${h[0]}" -v h50="${h[1]}" -v h99="${h[2]}" -v hbad="${h[3]}" -v hb50="${hb[1]}" -v hb99="${hb[2]}" \
		-v cpu="$(min_cpu "$n")" -v bcpu="$bcpu" 'BEGIN {
		printf "%-14s %8.0f %6.2f %7.2f %7.2f %4d | %6.0f %7.3f %7.3f %6.2f %6.2f %4d %6.1f %5.2f\n", n, rps, rps / b0, p50 / b50, p99 / b99, bad,
			h0, h50, h99, h50 / hb50, h99 / hb99, hbad, cpu, (bcpu > 0 ? cpu / bcpu : 0) }')"
done
say ""
ratio() { awk -v a="$(best "$1" | cut -d' ' -f1)" -v b="$(best "$2" | cut -d' ' -f1)" 'BEGIN { printf "%.2f", a / b }'; }
[ -n "$HAVE_OK" ] && say "gw-cedar / oathkeeper req/s: $(ratio gw-cedar oathkeeper)x; gw-jwt / oathkeeper: $(ratio gw-jwt oathkeeper)x"
[ -n "$HAVE_OPA" ] && say "fa-gatehouse / opa req/s: $(ratio fa-gatehouse opa)x; fa-gatehouse / opa-jwtcache: $(ratio fa-gatehouse opa-jwtcache)x"
[ -n "$HAVE_OPA" ] && say "OPA query: GET $OPA_QUERY?input=<URL-encoded $(jq -c '.attributes.request.http.headers.authorization = "Bearer <token>"' <<<"$OPA_INPUT")>"
log "done; summary in $SUMMARY"
