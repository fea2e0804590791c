#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo fuzz / libFuzzer) of the core's parsers:
# audit log lines, canonical JSON (against the RFC 8785 reference
# implementation) and delta JSON. Each target runs for SECONDS (default 60)
# from the committed seeds plus the corpus it grew before; a crash fails the
# script and leaves its input under rust/core/fuzz/artifacts/TARGET/.
#   bash scripts/fuzz.sh [SECONDS]
set -euo pipefail
secs=${1:-60}
cd "$(dirname "$0")/../rust/core"
command -v cargo-fuzz > /dev/null || cargo install cargo-fuzz --locked --version 0.13.2
# cargo fuzz passes -Z flags that only nightly accepts; this machine has the
# stable toolchain alone, so let it accept them. No sanitizer: the core has no
# unsafe code (#![forbid(unsafe_code)]); the targets check panics and properties.
export RUSTC_BOOTSTRAP=1
for target in audit_line canonical_json delta_json; do
    mkdir -p "fuzz/corpus/$target"
    log="fuzz/$target.log"
    if ! cargo fuzz run "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -s none -- \
        -max_total_time="$secs" -rss_limit_mb=2048 > "$log" 2>&1; then
        tail -n 40 "$log"
        echo "fuzz target $target failed (input saved under rust/core/fuzz/artifacts/$target/)" >&2
        exit 1
    fi
    echo "$target: $(grep -E '^Done' "$log")"
done
