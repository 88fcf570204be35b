#!/usr/bin/env python3
"""`mamori scan --help` (generated from the option table) and doc/mamori-scan.1 name the same
options, with the same short forms: an option added to one and not the other fails here."""
import os
import re
import subprocess
import sys

m = os.environ.get("MAMORI", "build/mamori")
root = os.environ.get("MAMORI_SOURCE_ROOT", ".")
out = subprocess.run([m, "scan", "--help"], capture_output=True, text=True, check=True).stdout
helped = {(s or None, l) for s, l in re.findall(r"^  (?:-(\w), )?\s*--([a-z][a-z-]*)", out, re.M)}
page = open(os.path.join(root, "doc", "mamori-scan.1")).read()
opts = page.split(".SH OPTIONS", 1)[1].split(".SH ", 1)[0]
documented = set()
for tp in re.findall(r"^\.TP\n(.*)$", opts, re.M):
    tp = tp.replace("\\-", "-")
    short = re.search(r"(?:^\.BR |^\.B )-(\w)\b", tp)
    long_ = re.search(r"--([a-z][a-z-]*)", tp)
    if long_:
        documented.add((short.group(1) if short and not tp.startswith(".BI") else None, long_.group(1)))
if helped != documented:
    print("only in --help:", sorted(helped - documented, key=str), file=sys.stderr)
    print("only in the man page:", sorted(documented - helped, key=str), file=sys.stderr)
    sys.exit(1)
print(f"ok: {len(helped)} options in --help and the man page")
