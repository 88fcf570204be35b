#!/usr/bin/env python3
"""One closing line for `make test` over meson's test logs (JSON lines):
'tests: N passed, N failed, N skipped'; exits 1 if any failed."""
import json
import sys

results = []
for path in sys.argv[1:]:
    with open(path) as f:
        results += [json.loads(line)["result"] for line in f if line.strip()]
passed = results.count("OK")
skipped = results.count("SKIP")
failed = len(results) - passed - skipped
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or not results else 0)
