# bench/lib.sh: what bench/run.sh and bench/peers.sh share — starting servers under `timeout`,
# stopping everything on exit, logging, and reading wrk's and /proc's figures. Sourced after
# the script has set RESULTS (log directory), WORK (scratch directory, removed on exit) and
# MAX_LIFETIME (seconds any started server may live).

PIDS=()
declare -A PID=()

cleanup() {
	local rc=$? pid alive child
	trap - EXIT INT TERM HUP
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for _ in $(seq 50); do
		alive=0
		for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
		[ "$alive" = 0 ] && break
		sleep 0.1
	done
	# PIDS are `timeout` processes: kill the command under each one first, then timeout itself.
	for pid in "${PIDS[@]}"; do
		for child in $(pgrep -P "$pid" 2>/dev/null); do kill -KILL "$child" 2>/dev/null || true; done
		kill -KILL "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# start NAME CMD...: runs CMD in the background under timeout, logging to results/NAME.log.
start() {
	local name=$1
	shift
	timeout -k 5 "$MAX_LIFETIME" "$@" >"$RESULTS/$name.log" 2>&1 &
	PIDS+=("$!")
	PID[$name]=$!
}

# server_pid NAME: the pid of the command `start NAME` runs under timeout.
server_pid() { pgrep -P "${PID[$1]}" | head -1; }

# cpu_ticks PID: user + system CPU time of PID in clock ticks (fields 14 and 15 of stat).
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
CLK_TCK=$(getconf CLK_TCK)

# to_ms VALUE: wrk latency ("812.00us", "1.23ms", "1.02s", "1.5m") in milliseconds.
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
		printf "%.3f", n }'
}
