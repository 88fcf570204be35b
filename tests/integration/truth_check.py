#!/usr/bin/env python3
"""Compare `mamori report --format json --top 0` with synth's ground truth.

Exact for counts; distinct sources exact up to the sketch's exact threshold
(1024) and within 2% beyond it (HyperLogLog).  Exits 1 listing every mismatch."""
import json
import sys
from datetime import datetime, timezone

EXACT_MAX = 1024


def ts(s):
    return datetime.strptime(s.replace("Z", "+0000"),
                             "%Y-%m-%dT%H:%M:%S.%f%z" if "." in s else "%Y-%m-%dT%H:%M:%S%z")


def main():
    report = json.load(open(sys.argv[1]))
    truth = json.load(open(sys.argv[2]))
    interval = int(sys.argv[3]) if len(sys.argv) > 3 else 60
    errors = []

    def distinct(where, got, want):
        if want <= EXACT_MAX:
            ok = got == want
        else:
            ok = abs(got - want) <= 0.02 * want
        if not ok:
            errors.append(f"{where}: sources {got}, truth {want}")

    def exact(where, got, want):
        if got != want:
            errors.append(f"{where}: {got}, truth {want}")

    for k in ("packets", "bytes", "iot_packets", "malformed", "non_ip", "outside"):
        exact(f"totals.{k}", report["totals"][k], truth["totals"][k])
    distinct("totals", report["totals"]["sources"], truth["totals"]["sources"])
    for k in ("late", "bad_time"):  # synth writes its frames in time order, dated 1970..2100
        exact(f"totals.{k}", report["totals"].get(k, 0), truth["totals"].get(k, 0))
    want_share = truth["totals"]["iot_packets"] / truth["totals"]["packets"]
    if abs(report["totals"]["iot_share"] - want_share) > 1e-4:
        errors.append(f"totals.iot_share {report['totals']['iot_share']}, truth {want_share:.4f}")
    for k, v in truth["classes"].items():
        exact(f"classes.{k}", report["classes"][k], v)

    got_fp = {f["name"]: f for f in report["fingerprints"]}
    for f in truth["fingerprints"]:
        g = got_fp.pop(f["name"], None)
        if g is None:
            errors.append(f"fingerprint {f['name']} missing")
            continue
        exact(f"fingerprint {f['name']} packets", g["packets"], f["packets"])
        distinct(f"fingerprint {f['name']}", g["sources"], f["sources"])
    for name in got_fp:
        errors.append(f"fingerprint {name} reported but not generated")

    for section in ("ports", "backscatter_ports"):
        got = {(p["proto"], p["port"]): p for p in report[section]}
        for p in truth[section]:
            key = (p["proto"], p["port"])
            g = got.pop(key, None)
            if g is None:
                errors.append(f"{section} {key} missing")
                continue
            exact(f"{section} {key} packets", g["packets"], p["packets"])
            distinct(f"{section} {key}", g["sources"], p["sources"])
        for key in got:
            errors.append(f"{section} {key} reported but not generated")

    got_dos = {(d["target"], d["proto"]): d for d in report["dos"]}
    for d in truth["dos"]:
        key = (d["target"], d["proto"])
        g = got_dos.pop(key, None)
        if g is None:
            errors.append(f"DoS victim {key} missing")
            continue
        exact(f"DoS {key} packets", g["packets"], d["packets"])
        for k in ("start", "end"):
            if abs((ts(g[k]) - ts(d[k])).total_seconds()) > 1e-6:
                errors.append(f"DoS {key} {k} {g[k]}, truth {d[k]}")
    for key in got_dos:
        errors.append(f"DoS victim {key} reported but below the thresholds in the plan")

    alerts = report["alerts"]
    surge = truth.get("surge")
    if surge:
        start = ts(surge["start"]).timestamp()
        first = start - start % interval
        hits = [a for a in alerts if a["proto"] == surge["proto"] and a["port"] == surge["port"]
                and first <= ts(a["at"]).timestamp() <= first + interval]
        if len(hits) != 1:
            errors.append(f"surge {surge['port']}/{surge['proto']} from {surge['start']}: "
                          f"{len(hits)} alerts within 2 intervals")
        others = [a for a in alerts if a not in hits]
    else:
        others = alerts
    for a in others:
        errors.append(f"unexpected alert {a}")

    if errors:
        print(f"{len(errors)} mismatches against ground truth:")
        for e in errors[:50]:
            print("  " + e)
        return 1
    print(f"report matches ground truth: {report['totals']['packets']} packets, "
          f"{len(truth['ports'])} ports, {len(truth['dos'])} DoS victims, "
          f"{len(alerts)} alert(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
