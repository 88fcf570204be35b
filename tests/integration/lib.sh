# Shared by the integration scripts: a scratch directory removed on exit, the
# binary under test, and a JSON comparison against synth's ground truth.
set -euo pipefail
M=${MAMORI:?set MAMORI to the mamori binary}
ROOT=${MAMORI_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
T=$(mktemp -d /tmp/mamori-it-XXXXXX)
trap 'rm -rf "$T"' EXIT
DN=198.18.0.0/16,2001:db8:1::/48

check_truth() { # report.json truth.json
    python3 "$ROOT/tests/integration/truth_check.py" "$1" "$2"
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
