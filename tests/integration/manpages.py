#!/usr/bin/env python3
"""Man pages against --help: every command main lists has doc/mamori-CMD.1, mamori.1 names every
command, and every long option a command's --help shows is in its man page, and every option the
man page documents is one --help shows (one source of truth: a renamed or new option that one of
them misses fails here)."""
import os
import re
import subprocess
import sys

M = os.environ["MAMORI"]
ROOT = os.environ["MAMORI_SOURCE_ROOT"]
errors = []


def man_text(path):
    # roff: \- is a minus, \fB..\fR fonts; keep the words
    t = open(path, encoding="utf-8").read()
    return re.sub(r"\\f[BIRP]", "", t).replace("\\-", "-")


def main():
    top = subprocess.run([M, "--help"], capture_output=True, text=True).stdout
    cmds = re.findall(r"^  ([a-z]+) ", top, re.M)
    if len(cmds) < 5:
        sys.exit(f"mamori --help lists {cmds}")
    index = man_text(os.path.join(ROOT, "doc/mamori.1"))
    for c in cmds:
        if not re.search(rf"\bmamori-{c}\b|\b{c}\b", index):
            errors.append(f"doc/mamori.1 does not name {c}")
        page = os.path.join(ROOT, f"doc/mamori-{c}.1")
        if not os.path.exists(page):
            errors.append(f"{c}: no doc/mamori-{c}.1")
            continue
        h = subprocess.run([M, c, "--help"], capture_output=True, text=True)
        helps = set(re.findall(r"(?<![\w-])--([a-z][a-z0-9-]*)", h.stdout)) - {"help"}
        man = man_text(page)
        documented = set(re.findall(r"^\.(?:B|BI|BR|IP|TP)?\s*[^\n]*?(?<![\w-])--([a-z][a-z0-9-]*)",
                                    man, re.M))
        for o in sorted(helps):
            if f"--{o}" not in man:
                errors.append(f"{c}: --{o} is in --help but not in doc/mamori-{c}.1")
        for o in sorted(documented - helps - {"help"}):
            # a man page may name another command's option in prose; only its OPTIONS section counts
            opts = man.split(".SH OPTIONS", 1)[-1].split("\n.SH ", 1)[0]
            if re.search(rf"^\.(?:B|BI|BR)\s+--{re.escape(o)}\b", opts, re.M):
                errors.append(f"{c}: doc/mamori-{c}.1 documents --{o}, which --help does not show")
    if errors:
        print("\n".join(errors))
        sys.exit(1)
    print(f"manpages: {len(cmds)} commands agree with their --help")


main()
