#!/usr/bin/env bash
# shellcheck disable=SC2059 # table rows share one printf format kept in a variable
# bench/run.sh: HTTP load benchmarks of a real `gatehouse serve` on 127.0.0.1 (see bench/README.md).
#
#   Part 1: the AVP IsAuthorized API over HTTP, against /healthz on the same listener.
#   Part 2: gateway overhead: upstream alone, a bare httputil.ReverseProxy, and gateway routes
#           with the none, jwt, cedar (cache on and off) and iam authorizers; skipped with a
#           message while `gatehouse serve` does not serve the gateway.
#
# Everything it starts is stopped on exit (trap EXIT; servers also run under `timeout`, so
# nothing outlives BENCH_MAX_LIFETIME even if this script is killed with SIGKILL). Every load
# run is bounded in time. Raw outputs go to bench/results/<UTC time>/ (git-ignored).
#
# Settings (environment):
#   GATEHOUSE_BIN        use this gatehouse binary instead of building one
#   BENCH_PARTS          which parts to run: "1 2" (default), "1" or "2"
#   BENCH_ROUNDS         interleaved rounds of part 1 (default 2; the best round is kept)
#   BENCH_DURATION       wrk duration of part 1 runs (default 10s)
#   BENCH_GW_ROUNDS      interleaved rounds of part 2 (default 4; the best round is kept)
#   BENCH_GW_DURATION    wrk and rateload duration of part 2 runs (default 2s)
#   BENCH_CONNECTIONS    wrk connections (default 32; wrk always uses 2 threads)
#   BENCH_BASE_PORT      first of 6 consecutive ports on 127.0.0.1 (default 19180)
#   BENCH_MAX_LIFETIME   seconds after which any server this script started is killed (default 420)
#   BENCH_NICE           niceness for this script and everything it starts, e.g. -10 (root) so
#                        other work on a shared machine disturbs the measurement less
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PARTS=${BENCH_PARTS:-1 2}
ROUNDS=${BENCH_ROUNDS:-2}
DUR=${BENCH_DURATION:-10s}
GW_ROUNDS=${BENCH_GW_ROUNDS:-4}
GW_DUR=${BENCH_GW_DURATION:-2s}
CONNS=${BENCH_CONNECTIONS:-32}
BASE_PORT=${BENCH_BASE_PORT:-19180}
MAX_LIFETIME=${BENCH_MAX_LIFETIME:-420}
NICE=${BENCH_NICE:-}

ADMIN_PORT=$BASE_PORT
GW_PORT=$((BASE_PORT + 1))
IDP_PORT=$((BASE_PORT + 2))
UP_PORT=$((BASE_PORT + 4))
BARE_PORT=$((BASE_PORT + 5))
POOL_PORT=$((BASE_PORT + 3))
ADMIN=http://127.0.0.1:$ADMIN_PORT

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS=$ROOT/bench/results/$STAMP
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-bench.XXXXXX")
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

mkdir -p "$RESULTS"
log "results in $RESULTS"
if [ -n "$NICE" ]; then
	renice -n "$NICE" -p $$ >/dev/null || die "BENCH_NICE=$NICE: renice failed (negative values need root)"
fi

for tool in wrk curl timeout awk; do
	command -v "$tool" >/dev/null || die "$tool is not installed (.ci/run installs wrk; apt-get install wrk)"
done
for p in "$ADMIN_PORT" "$GW_PORT" "$IDP_PORT" "$POOL_PORT" "$UP_PORT" "$BARE_PORT"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		die "port $p on 127.0.0.1 is in use; set BENCH_BASE_PORT"
	fi
done

# --- build ---------------------------------------------------------------------------------
mkdir -p "$WORK/bin"
if [ -n "${GATEHOUSE_BIN:-}" ]; then
	cp "$GATEHOUSE_BIN" "$WORK/bin/gatehouse"
else
	log "building gatehouse"
	(cd "$ROOT" && go build -o "$WORK/bin/gatehouse" ./cmd/gatehouse)
fi
log "building bench tools"
(cd "$ROOT" && go build -o "$WORK/bin/" ./bench/cmd/signreq ./bench/cmd/upstream ./bench/cmd/bareproxy ./bench/cmd/rateload ./bench/cmd/gwsetup)
GH=$WORK/bin/gatehouse

# --- helpers -------------------------------------------------------------------------------



# wait_http URL PIDVAR: waits up to 20 s for URL to answer, failing early if the process died.
wait_http() {
	local url=$1 pid=$2
	for _ in $(seq 200); do
		curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || die "process for $url exited; see its log in $RESULTS"
		sleep 0.1
	done
	die "$url did not answer within 20 s"
}

RAW=$RESULTS/raw.tsv
printf 'part\tname\tround\trps\tp50_ms\tp99_ms\tnon2xx\terrors\tcpu_us_per_req\n' >"$RAW"

# run_wrk PART NAME ROUND DURATION SERVER URL [wrk args...]: one wrk run, appended to raw.tsv,
# with the CPU time the process SERVER (a `start` name) spent per request.
run_wrk() {
	local part=$1 name=$2 round=$3 dur=$4 server=$5 url=$6 out spid t0 t1
	shift 6
	out=$RESULTS/wrk-$name-r$round.txt
	spid=$(server_pid "$server")
	[ -n "$spid" ] || die "no process for $server"
	log "wrk $name (round $round, $dur, $CONNS connections)"
	t0=$(cpu_ticks "$spid")
	timeout -k 5 60 wrk -t2 -c"$CONNS" -d"$dur" --latency "$@" "$url" >"$out" 2>&1 || die "wrk $name failed: $(tail -3 "$out")"
	t1=$(cpu_ticks "$spid")
	local rps p50 p99 non2xx errs n cpu
	n=$(awk '/requests in/ {print $1}' "$out")
	cpu=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$n" 'BEGIN { printf "%.1f", (n > 0 ? d / hz * 1e6 / n : 0) }')
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
	p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
	p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
	errs=$(awk '/Socket errors:/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}' "$out")
	[ -n "$rps" ] || die "wrk $name: no result in $out"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$part" "$name" "$round" "$rps" "$p50" "$p99" "${non2xx:-0}" "${errs:-0}" "$cpu" >>"$RAW"
}

# min_cpu PART NAME: the lowest CPU µs per request over the rounds (the least disturbed).
min_cpu() {
	awk -F'\t' -v part="$1" -v name="$2" '$1 == part && $2 == name && (low == "" || $9 + 0 < low + 0) { low = $9 } END { print low }' "$RAW"
}

# best PART NAME: the round with the highest requests/s, as "rps p50 p99 non2xx errors".
best() {
	awk -F'\t' -v part="$1" -v name="$2" '$1 == part && $2 == name && $4 + 0 > best + 0 {
		best = $4; line = $4 " " $5 " " $6 " " $7 " " $8 } END { print line }' "$RAW"
}

# lowest_p99 PART NAME: the round with the lowest p99, as "rps p50 p99 non2xx errors".
lowest_p99() {
	awk -F'\t' -v part="$1" -v name="$2" '$1 == part && $2 == name && (line == "" || $6 + 0 < low + 0) {
		low = $6; line = $4 " " $5 " " $6 " " $7 " " $8 } END { print line }' "$RAW"
}

SUMMARY=$RESULTS/summary.txt
: >"$SUMMARY"
say() { printf '%s\n' "$*" | tee -a "$SUMMARY"; }

# --- the node ------------------------------------------------------------------------------
GATEHOUSE_ACCESS_KEY_ID="AKIDBENCH$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)"
GATEHOUSE_SECRET_ACCESS_KEY="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
export GATEHOUSE_ACCESS_KEY_ID GATEHOUSE_SECRET_ACCESS_KEY
export GATEHOUSE_LOG_LEVEL=warn
# A node keeps serving for shutdownDelay after SIGTERM (rolling updates); here cleanup must
# stop it at once, within its wait, rather than kill it.
export GATEHOUSE_SHUTDOWN_DELAY=0s
log "starting gatehouse serve on a fresh SQLite file"
start gatehouse "$GH" serve --db "$WORK/gatehouse.db" --admin-listen "127.0.0.1:$ADMIN_PORT" \
	--listen "127.0.0.1:$GW_PORT" --idp-listen "127.0.0.1:$IDP_PORT" --forward-auth-listen off
wait_http "$ADMIN/healthz" "${PID[gatehouse]}"

say "gatehouse bench/run.sh  $(date -u '+%Y-%m-%d %H:%M:%S UTC')  $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$ROOT" && [ -n "$(git status --porcelain 2>/dev/null | head -1)" ] && echo '+dirty')"
say "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start; niceness $(ps -o ni= -p $$ | tr -d ' ')"
say ""

# --- identities (built-in IdP) -------------------------------------------------------------
# idp_ready explains on stdout why the built-in IdP cannot be used, or prints nothing.
idp_ready() {
	if ! (exec 3<>"/dev/tcp/127.0.0.1/$IDP_PORT") 2>/dev/null; then
		echo "gatehouse serve does not listen on --idp-listen (127.0.0.1:$IDP_PORT): the built-in IdP is not wired into serve"
	fi
}

# setup_identity (once): a user pool, client, group "employees" and user alice in the built-in
# IdP, her tokens (POOL_ID, POOL_ARN, CLIENT_ID, ACCESS_TOKEN, ID_TOKEN), and
# bench/testdata/gateway/store applied: the policy store bench-gateway trusting that pool, the
# API "bench" (apis/bench.yaml, proxying to the upstream port) and its iam group policy.
IDENTITY_DONE=
setup_identity() {
	[ -n "$IDENTITY_DONE" ] && return
	log "creating a user pool, client, group and user in the built-in IdP"
	"$WORK/bin/gwsetup" -idp "http://127.0.0.1:$IDP_PORT" >"$WORK/ids.sh" 2>"$RESULTS/gwsetup.log" ||
		die "gwsetup: $(tail -3 "$RESULTS/gwsetup.log")"
	# shellcheck disable=SC1091
	. "$WORK/ids.sh"
	log "applying bench/testdata/gateway/store (pool $POOL_ID)"
	POOL_ID=$POOL_ID POOL_ARN=$POOL_ARN CLIENT_ID=$CLIENT_ID UPSTREAM=http://127.0.0.1:$UP_PORT \
		"$GH" apply "$ROOT/bench/testdata/gateway/store" --endpoint "$ADMIN" >"$RESULTS/apply-gateway.log" 2>&1 ||
		die "apply gateway store: $(tail -5 "$RESULTS/apply-gateway.log")"
	IDENTITY_DONE=1
}

# --- part 1: IsAuthorized over HTTP --------------------------------------------------------
part1() {
	log "part 1: applying bench/testdata/petstore"
	"$GH" apply "$ROOT/bench/testdata/petstore" --endpoint "$ADMIN" >"$RESULTS/apply-petstore.log" 2>&1 ||
		die "apply petstore: $(tail -5 "$RESULTS/apply-petstore.log")"
	local with_token why
	why=$(idp_ready)
	if [ -z "$why" ]; then
		setup_identity
		with_token=1
		printf '{"policyStoreId":"bench-gateway","accessToken":"%s","action":{"actionType":"PetStore::Action","actionId":"get /pets"},"resource":{"entityType":"PetStore::Application","entityId":"PetStore"}}' \
			"$ACCESS_TOKEN" >"$WORK/withtoken.json"
	fi
	local round
	for round in $(seq "$ROUNDS"); do
		run_wrk 1 healthz "$round" "$DUR" gatehouse "$ADMIN/healthz"
		# Signed per round: a SigV4 signature is valid for 15 minutes.
		"$WORK/bin/signreq" -endpoint "$ADMIN" -target VerifiedPermissions.IsAuthorized \
			-body "@$ROOT/bench/testdata/isauthorized.json" -check -expect '"decision":"ALLOW"' \
			>"$WORK/isauthorized.lua" 2>>"$RESULTS/signreq.log" || die "IsAuthorized check failed: $(tail -2 "$RESULTS/signreq.log")"
		run_wrk 1 isauthorized "$round" "$DUR" gatehouse "$ADMIN/" -s "$WORK/isauthorized.lua"
		if [ -n "$with_token" ]; then
			"$WORK/bin/signreq" -endpoint "$ADMIN" -target VerifiedPermissions.IsAuthorizedWithToken \
				-body "@$WORK/withtoken.json" -check -expect '"decision":"ALLOW"' \
				>"$WORK/withtoken.lua" 2>>"$RESULTS/signreq.log" || die "IsAuthorizedWithToken check failed: $(tail -2 "$RESULTS/signreq.log")"
			run_wrk 1 withtoken "$round" "$DUR" gatehouse "$ADMIN/" -s "$WORK/withtoken.lua"
		fi
	done
	say "Part 1: AVP API over HTTP (wrk -t2 -c$CONNS -d$DUR --latency on the admin listener; one SigV4-signed request replayed;"
	say "        best of $ROUNDS interleaved rounds; cpu = gatehouse CPU time per request, lowest round)"
	local fmt='%-40s %10s %9s %9s %7s %7s %8s %10s'
	say "$(printf "$fmt" 'run' 'req/s' 'p50 ms' 'p99 ms' 'non2xx' 'errors' 'vs hlth' 'cpu us/req')"
	local -a h r
	read -r -a h <<<"$(best 1 healthz)"
	local n label
	for n in healthz isauthorized withtoken; do
		case $n in
		healthz) label='GET /healthz (HTTP stack baseline)' ;;
		isauthorized) label='IsAuthorized (entities in request)' ;;
		withtoken)
			label='IsAuthorizedWithToken (IdP access token)'
			if [ -z "$with_token" ]; then
				say "IsAuthorizedWithToken: skipped: $why."
				continue
			fi
			;;
		esac
		read -r -a r <<<"$(best 1 "$n")"
		say "$(printf "$fmt" "$label" "${r[@]}" "$(awk -v x="${r[0]}" -v y="${h[0]}" 'BEGIN { printf "%.2f", x / y }')" "$(min_cpu 1 "$n")")"
	done
	read -r -a r <<<"$(best 1 isauthorized)"
	say "$(awk -v a="${r[0]}" 'BEGIN { printf "IsAuthorized req/s = %.0fx AVP'"'"'s default quota of 200 requests/s per policy store", a / 200 }')"
	say ""
}

# --- part 2: gateway overhead --------------------------------------------------------------
# gateway_ready explains on stdout why part 2 cannot run, or prints nothing.
gateway_ready() {
	if ! (exec 3<>"/dev/tcp/127.0.0.1/$GW_PORT") 2>/dev/null; then
		echo "gatehouse serve does not listen on --listen (127.0.0.1:$GW_PORT): the gateway is not wired into serve yet"
		return
	fi
	idp_ready
}

part2() {
	local why
	why=$(gateway_ready)
	if [ -n "$why" ]; then
		say "Part 2: gateway overhead: SKIPPED: $why."
		return
	fi
	log "part 2: starting upstream and bare proxy"
	start upstream "$WORK/bin/upstream" -listen "127.0.0.1:$UP_PORT"
	start bareproxy "$WORK/bin/bareproxy" -listen "127.0.0.1:$BARE_PORT" -upstream "http://127.0.0.1:$UP_PORT"
	start bareproxy-pool "$WORK/bin/bareproxy" -listen "127.0.0.1:$POOL_PORT" -upstream "http://127.0.0.1:$UP_PORT" -buffer-pool
	wait_http "http://127.0.0.1:$UP_PORT/" "${PID[upstream]}"
	wait_http "http://127.0.0.1:$BARE_PORT/" "${PID[bareproxy]}"
	wait_http "http://127.0.0.1:$POOL_PORT/" "${PID[bareproxy-pool]}"
	setup_identity

	local gw=http://127.0.0.1:$GW_PORT/bench
	local names=(upstream bareproxy bareproxy-pool gw-none gw-jwt gw-cedar gw-cedar-nocache gw-iam)
	local -A url=(
		[upstream]=http://127.0.0.1:$UP_PORT/pets
		[bareproxy]=http://127.0.0.1:$BARE_PORT/pets
		[bareproxy-pool]=http://127.0.0.1:$POOL_PORT/pets
		[gw-none]=$gw/none/pets
		[gw-jwt]=$gw/jwt/pets
		[gw-cedar]=$gw/cedar/pets
		[gw-cedar-nocache]=$gw/cedar-nocache/pets
		[gw-iam]=$gw/iam/pets
	)
	local -A server=([upstream]=upstream [bareproxy]=bareproxy [bareproxy-pool]=bareproxy-pool [gw-none]=gatehouse
		[gw-jwt]=gatehouse [gw-cedar]=gatehouse [gw-cedar-nocache]=gatehouse [gw-iam]=gatehouse)
	local auth="Authorization: Bearer $ACCESS_TOKEN" n code round
	for n in "${names[@]}"; do
		# The gateway picks a stored change up on its next request; allow it a moment.
		for _ in $(seq 20); do
			code=$(curl -sS -o "$RESULTS/check-$n.txt" -w '%{http_code}' --max-time 5 -H "$auth" "${url[$n]}") || code=000
			[ "$code" = 200 ] && break
			sleep 0.25
		done
		[ "$code" = 200 ] || die "$n: GET ${url[$n]} answered $code, want 200: $(head -c 300 "$RESULTS/check-$n.txt")"
	done
	for round in $(seq "$GW_ROUNDS"); do
		for n in "${names[@]}"; do
			run_wrk 2 "$n" "$round" "$GW_DUR" "${server[$n]}" "${url[$n]}" -H "$auth"
		done
	done

	# Half load: half of the cedar route's best req/s, sent at a constant rate to every target,
	# interleaved over the rounds like the max-load runs.
	local -a c
	read -r -a c <<<"$(best 2 gw-cedar)"
	local rate
	rate=$(awk -v r="${c[0]}" 'BEGIN { printf "%d", r / 2 }')
	local out spid t0 t1
	local halfnames=(bareproxy bareproxy-pool gw-none gw-jwt gw-cedar gw-cedar-nocache gw-iam)
	for round in $(seq "$GW_ROUNDS"); do
		for n in "${halfnames[@]}"; do
			out=$RESULTS/rateload-$n-r$round.txt
			spid=$(server_pid "${server[$n]}")
			log "rateload $n (round $round, $rate req/s, $GW_DUR)"
			t0=$(cpu_ticks "$spid")
			timeout -k 5 60 "$WORK/bin/rateload" -url "${url[$n]}" -rate "$rate" -d "$GW_DUR" -c "$CONNS" -H "$auth" \
				>"$out" 2>&1 || die "rateload $n failed: $(tail -3 "$out")"
			t1=$(cpu_ticks "$spid")
			awk -v n="$n" -v round="$round" -v d=$((t1 - t0)) -v hz="$CLK_TCK" '/^RESULT/ {
				for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
				printf "2h\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f\n", n, round, v["rps"], v["p50_ms"], v["p99_ms"], v["non2xx"], v["errors"],
					(v["n"] > 0 ? d / hz * 1e6 / v["n"] : 0) }' "$out" >>"$RAW"
		done
	done
	local -A half
	for n in "${halfnames[@]}"; do
		half[$n]=$(lowest_p99 2h "$n")
	done

	local -a b bp hb
	read -r -a b <<<"$(best 2 bareproxy)"
	read -r -a bp <<<"$(best 2 bareproxy-pool)"
	read -r -a hb <<<"${half[bareproxy]}"
	local poolcpu
	poolcpu=$(min_cpu 2h bareproxy-pool)
	say "Part 2: gateway overhead (every request carries the same IdP access token; upstream = bench/cmd/upstream)"
	say "  max load:  wrk -t2 -c$CONNS -d$GW_DUR --latency, best of $GW_ROUNDS interleaved rounds; ratio = req/s / bareproxy req/s;"
	say "             vs pool = req/s / bareproxy-pool req/s"
	say "  half load: bench/cmd/rateload, constant $rate req/s (half the cedar route's max), -c $CONNS, $GW_DUR; latency from scheduled"
	say "             send time; of $GW_ROUNDS interleaved rounds, the one with the lowest p99 is kept; cpu = CPU time of the"
	say "             process under test per request at that rate (lowest round; the upstream's not included); +cpu = minus bareproxy-pool's"
	say "$(printf '%-17s %8s %7s %7s %6s %7s %4s | %7s %7s %7s %8s %4s %6s %6s' 'target' 'req/s' 'p50 ms' 'p99 ms' 'ratio' 'vs pool' \
		'bad' 'got r/s' 'p50 ms' 'p99 ms' '+p99 ms' 'bad' 'cpu us' '+cpu')"
	local n
	for n in "${names[@]}"; do
		say "$(awk -v n="$n" -v max="$(best 2 "$n")" -v half="${half[$n]:-}" -v base="${b[0]}" -v pbase="${bp[0]}" \
			-v cpu="$(min_cpu 2h "$n")" -v pcpu="$poolcpu" -v hb99="${hb[2]}" 'BEGIN {
			split(max, r, " ")
			printf "%-17s %8.0f %7.3f %7.3f %5.1f%% %6.1f%% %4d |", n, r[1], r[2], r[3], 100 * r[1] / base, 100 * r[1] / pbase, r[4] + r[5]
			if (half == "") { printf " %7s", "-"; exit }
			split(half, h, " ")
			printf " %7.0f %7.3f %7.3f %+8.3f %4d %6.1f %+6.1f", h[1], h[2], h[3], h[3] - hb99, h[4] + h[5], cpu, cpu - pcpu }')"
	done
	say "  +p99 ms = half-load p99 minus the bare proxy's half-load p99. Goals: gw-cedar ratio >= 85%, +p99 <= 1 ms."
	say ""
}

for part in $PARTS; do
	case $part in
	1) part1 ;;
	2) part2 ;;
	*) die "BENCH_PARTS: unknown part $part" ;;
	esac
done
log "done; summary in $SUMMARY"
