#!/bin/sh
# deploy/redis-sentinel.sh CONFIG [OPTION...]: runs Debian's redis-sentinel with the
# configuration file CONFIG, created empty if missing (Sentinel refuses to start without a
# file it can rewrite), and the options given as command-line directives
# (e.g. --port 26379 --sentinel monitor NAME HOST PORT QUORUM). Used by the scenario
# example-network-ha (deploy/scenarios.json) natively and in its containers.
set -eu
config="$1"
shift
[ -e "$config" ] || : >"$config"
exec redis-sentinel "$config" "$@"
