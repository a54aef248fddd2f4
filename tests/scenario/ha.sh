#!/usr/bin/env bash
# The scenario example-network-ha (issue 16, point 3), natively: real HAProxy in front of two
# paychand instances on one Redis primary + replica + three Sentinels, and the example network's
# unchanged services pointed at the balancer.
#  - paid /action succeeds through the balancer (right after /init too);
#  - kill -9 of one paychand under load (stopped 0.3 s before, so that requests are in flight on
#    it): HAProxy's /ready check (and the refused connections) take it out, requests keep
#    succeeding; the failures during the switch are counted and bounded (at most the requests
#    in flight at the kill: HAProxy sends a request again only when it never reached the dead
#    instance, deploy/haproxy.cfg);
#  - no acknowledged count is lost: a count the killed instance acknowledged is in Redis (and on
#    the replica, WAIT 1) before its answer, so the consumer never hands it out again and no
#    provider refuses a later request as a replay (code 37; only a request in flight at the kill
#    and sent again by the service may meet one); the store's counters agree;
#  - restarted (scripts/scenario restart), the instance is back in rotation.
# Figures printed: failures during the switch, time to take the instance out and to bring it back.
#
#   ha.sh BUILD_DIR
set -euo pipefail

build_dir="$1"
scenario=example-network-ha
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d)"
# shellcheck source=tests/scenario/lib.sh
source "$repo/tests/scenario/lib.sh"
WORKERS=3           # concurrent /action clients
FAILURE_BOUND=6     # failed /actions allowed around the kill: requests in flight then, 2 per client
SWITCH_BOUND_MS=5000

load_pids=()
cleanup() {
    for pid in "${load_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    stop_scenario_and_clean
}
trap cleanup EXIT
now_ms() { date +%s%3N; }

# detached: in the foreground the runner stops the whole scenario when one of its processes dies
# every port below 32768 (the Sentinels' 26379-26381 included): outside the ephemeral range
started=0
start_scenario 1000 5000 --detach && started=1
check "scenario $scenario started" test "$started" = 1
((started)) || { echo "ha.sh: $pass passed, $fail failed"; exit 1; }
lb="http://127.0.0.1:$((3000 + offset))"
public="http://127.0.0.1:$((8003 + offset))"
redis_cli=(redis-cli -p $((6379 + offset)))

# instances_answering N: the instances that answered N requests to /ready through the balancer
instances_answering() {
    for _ in $(seq "$1"); do
        curl -s -D - -o /dev/null --max-time 5 "$lb/ready" | tr -d '\r' |
            sed -n 's/^x-paychan-instance: //Ip'
    done | sort -u | tr '\n' ' '
}
# wait_rotation WANT: waits (30 s at most) until 6 requests through the balancer reach exactly WANT
wait_rotation() {
    for _ in $(seq 300); do
        [[ "$(instances_answering 6)" == "$1" ]] && return 0
        sleep 0.1
    done
    return 1
}
# "running" means serving: the runner waited for each process's ready path, the balancer's too
ready_code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$lb/ready")"
check "the balancer is ready as soon as the runner says running (GET /ready: $ready_code)" \
    test "$ready_code" = 200
check "both instances in rotation once ready" wait_rotation "paychand1 paychand2 "

init="$(curl -s --max-time 120 "$public/init")"
check "/init through the balancer" grep -q '"paymentActive":true' <<<"$init"
code="$(curl -s -o "$work/first.json" -w '%{http_code}' --max-time 30 "$public/action")"
check "the first paid /action right after /init succeeds (got $code: $(head -c 200 "$work/first.json"))" \
    test "$code" = 200

# load: WORKERS clients call /action back to back; each answer is a line "ms status body"
load() {
    while [[ ! -e "$work/stop-load" ]]; do
        local body code
        body="$(curl -s -w '\n%{http_code}' --max-time 30 "$public/action" || true)"
        code="$(tail -n 1 <<<"$body")"
        echo "$(now_ms) ${code:-000} $(head -n 1 <<<"$body" | head -c 300)" >>"$work/load-$1.log"
    done
}
for w in $(seq "$WORKERS"); do load "$w" & load_pids+=($!); done
sleep 3

# SIGSTOP first, so that requests are surely in flight on the instance when it dies (sent, not
# answered): they must fail (502), not be sent again to the other instance
victim_pid="$(cat "$work/run/paychand-1.pid")"
kill -STOP "$victim_pid"
sleep 0.3
killed_at="$(now_ms)"
kill -KILL "$victim_pid"
check "only paychand2 in rotation after kill -9 of paychand1" wait_rotation "paychand2 "
out_ms=$(($(now_ms) - killed_at))
sleep 3
restart_at="$(now_ms)"
node "$repo/scripts/scenario.mjs" restart "$scenario" paychand-1 --no-build --build-dir "$build_dir" \
    --port-offset "$offset" --run-dir "$work/run" >"$work/restart.log" 2>&1 ||
    { cat "$work/restart.log"; check "paychand-1 restarted" false; }
check "paychand1 back in rotation after its restart" wait_rotation "paychand1 paychand2 "
back_ms=$(($(now_ms) - restart_at))
sleep 3
touch "$work/stop-load"
for pid in "${load_pids[@]}"; do wait "$pid" || true; done
load_pids=()

cat "$work"/load-*.log >"$work/load.log"
total="$(wc -l <"$work/load.log")"
ok="$(awk '$2 == 200' "$work/load.log" | wc -l)"
failed=$((total - ok))
after_kill="$(awk -v k="$killed_at" '$1 >= k' "$work/load.log" | wc -l)"
echo "# /action under load: $total requests, $failed failed ($WORKERS clients); kill -9 -> out of rotation in ${out_ms} ms, restart -> back in ${back_ms} ms"
awk '$2 != 200 && n++ < 10' "$work/load.log"
check "requests were served before and after the kill ($total, $after_kill after)" test "$after_kill" -gt 20
check "failed /actions around the kill: $failed <= $FAILURE_BOUND" test "$failed" -le "$FAILURE_BOUND"
check "HAProxy took the dead instance out within ${SWITCH_BOUND_MS} ms (${out_ms} ms)" test "$out_ms" -le "$SWITCH_BOUND_MS"
# A request whose connection died unanswered may be sent again by the service's libcurl (it
# retries a reused connection that closed before any answer): if the dead instance had already
# acknowledged its count, the other refuses it as a replay (37) - a failed request, counted above.
# Anywhere else a 37 would mean a count handed out twice, i.e. an acknowledged count lost.
replays="$(awk -v k="$killed_at" '/"code":37/ { n++ } END { print n + 0 }' "$work/load.log")"
stray="$(awk -v k="$killed_at" '/"code":37/ && ($1 < k - 1000 || $1 > k + 5000) { n++ } END { print n + 0 }' "$work/load.log")"
check "no count handed out twice: no replay refusal (37) away from the kill ($replays in all)" test "$stray" = 0
code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$public/action")"
check "/action still succeeds after the restart (got $code)" test "$code" = 200

# The store: for each Mediator, the consumer's counters (the highest count handed out per token id;
# the providers redeem every 20 s, each new token id counts from 1) cover every /action that
# succeeded, and no provider accepted a count above what was handed out.
successes=$((ok + 2)) # the load's, the first /action's and the last one's
declare -A issued accepted
for key in $("${redis_cli[@]}" --scan --pattern 'paychan:cc:*'); do
    med="$(cut -d: -f3 <<<"$key")"
    issued[$med]=$((${issued[$med]:-0} + $("${redis_cli[@]}" get "$key")))
    accepted[$med]=$((${accepted[$med]:-0} + $("${redis_cli[@]}" hget "${key/:cc:/:pc:}" h)))
done
check "two Mediators have counters in Redis (${!issued[*]})" test "${#issued[@]}" = 2
for med in "${!issued[@]}"; do
    check "Mediator ${med:0:12}...: handed out ${issued[$med]} >= $successes successful /actions" \
        test "${issued[$med]}" -ge "$successes"
    check "Mediator ${med:0:12}...: accepted ${accepted[$med]} <= handed out ${issued[$med]}" \
        test "${accepted[$med]}" -le "${issued[$med]}"
done
check "the Redis primary is still the one the scenario started with" \
    bash -c '"$@" role | head -n 1 | grep -qx master' _ "${redis_cli[@]}"

pids="$(cat "$work/run"/*.pid | tr '\n' ' ')"
check "scripts/scenario stop stops it" node "$repo/scripts/scenario.mjs" stop "$scenario" --run-dir "$work/run"
for pid in $pids; do check "process $pid is gone" bash -c "! kill -0 $pid 2>/dev/null"; done
echo "ha.sh: $pass passed, $fail failed"
((fail == 0))
