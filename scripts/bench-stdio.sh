#!/usr/bin/env bash
# Builds the release binary and measures it over stdio, as an MCP client runs it:
# cold start to the initialize reply, ping and tools/list round trips, and peak memory,
# idle and after reading every message of a mail directory. Writes a summary to stdout.
#
# Usage: scripts/bench-stdio.sh [MAIL_DIR [CALENDAR_DIR]]
#   MAIL_DIR, CALENDAR_DIR  .eml and .ics directories for the loaded-sandbox figures;
#                           default ../shared/corpus/{eml,ics} beside the repository.
# Environment: RUNS (server starts per figure, default 20), K (requests per loop, 200).
#
# Needs python3. Uses hyperfine and GNU time (/usr/bin/time) when installed, as
# cross-checks of the start-up and memory figures.
set -euo pipefail

case "${1:-}" in
    -h | --help)
        sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
esac

root="$(cd "$(dirname "$0")/.." && pwd)"
mail_dir="${1:-$root/../shared/corpus/eml}"
calendar_dir="${2:-$root/../shared/corpus/ics}"
runs="${RUNS:-20}"
k="${K:-200}"
client="$root/scripts/stdio_client.py"
hub="$root/target/release/mcp-google-hub"

cd "$root"
echo "== build (release, default features)"
cargo build --release --quiet --bin mcp-google-hub
ls -l "$hub"

# Keep a configuration file in the working directory from changing the figures.
empty_env="$(mktemp)"
init_file="$(mktemp)"
trap 'rm -f "$empty_env" "$init_file"' EXIT

measure() {
    local label="$1"
    shift
    echo "== $label"
    python3 "$client" --runs "$runs" -k "$k" "$@" 2>&1 >/dev/null
}

measure "no sandbox (unconfigured)" -- "$hub" --env-file "$empty_env"
measure "sandbox, built-in data" -- "$hub" --env-file "$empty_env" --sandbox
if [[ -d "$mail_dir" && -d "$calendar_dir" ]]; then
    measure "sandbox, $mail_dir + $calendar_dir" -- \
        "$hub" --env-file "$empty_env" --sandbox-mail "$mail_dir" --sandbox-calendar "$calendar_dir"
    RUNS=5 measure "sandbox after reading every message of $mail_dir" --read-all -- \
        "$hub" --env-file "$empty_env" --sandbox --sandbox-mail "$mail_dir"
else
    echo "== skipping the loaded-sandbox figures: $mail_dir or $calendar_dir is missing"
fi

# The initialize request, then end of input: the server replies and exits.
initialize='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}'

if command -v hyperfine >/dev/null; then
    echo "== hyperfine: whole process, initialize then end of input"
    echo "$initialize" >"$init_file"
    # -i: the hub exits with status 1 when input ends before the session is initialized.
    # The commands run in a shell for the redirection; hyperfine subtracts its start-up.
    hyperfine -i --warmup 3 --runs "$runs" \
        "$hub --env-file $empty_env <$init_file" \
        "$hub --env-file $empty_env --sandbox <$init_file" 2>&1 | grep -v '^$'
fi

if [[ -x /usr/bin/time ]]; then
    echo "== GNU time: maximum resident set of one initialize session"
    for args in "" "--sandbox"; do
        echo "$initialize" | RUST_LOG=off /usr/bin/time -f "  $args: %M KiB max RSS, %e s elapsed" \
            "$hub" --env-file "$empty_env" $args >/dev/null
    done
fi
