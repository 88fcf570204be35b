#!/usr/bin/env python3
"""layers — the include rule the build enforces (design.md "Layers are Meson libraries").

core knows nothing above it; store (the data model: schema, migrations, sinks, the read side)
sees core only; a capability sees core and store, never another capability; src/main.c sees
everything.  Every include of every file under src/ is resolved as the compiler would (beside the
file, then the build's -Isrc; continuation lines joined; a computed include is refused) and
checked here; a violation fails the build with one line per offending include.  A text check,
not a proof: it is the cheap guard; each library also links only the layers below it.  Run by Meson
before any library compiles (the stamp it writes is a source of each library), and by hand:
    tools/layers.py SRC_DIR [STAMP]
To add a capability: add its folder to CAPABILITIES below and a library to meson.build."""
import os
import re
import sys

LOWER = {"core": set(), "store": {"core"}}
CAPABILITIES = {"observe", "lure", "report", "serve", "synth", "notify", "scan", "probe", "testbed", "share"}
# An include as the compiler sees it: "x" looks beside the file first, then in src/ (the build's
# -Isrc); <x> only in src/ for our purposes (system headers are not in src/).  Anything else after
# #include (a macro) is refused: the check could not see where it leads.
INCLUDE = re.compile(r'^\s*#\s*include\b\s*(.*)$')
QUOTED = re.compile(r'^"([^"]+)"')
ANGLED = re.compile(r'^<([^>]+)>')
# Only store speaks SQL: no other layer names sqlite3 (its header, types or calls).
SQL = re.compile(r'\bsqlite3')
# Headers of a layer for that layer alone: store_int.h hands out the SQLite handle.
INTERNAL = {"store/store_int.h": "store"}


def allowed(layer):
    if layer in LOWER:
        return LOWER[layer] | {layer}
    return {"core", "store", layer}


def logical_lines(f):
    """(first line number, text) with backslash-newline continuations joined, as cpp does."""
    out, buf, start = [], "", None
    for no, line in enumerate(f, 1):
        line = line.rstrip("\n")
        if start is None:
            start = no
        if line.endswith("\\"):
            buf += line[:-1]
            continue
        out.append((start, buf + line))
        buf, start = "", None
    if start is not None:
        out.append((start, buf))
    return out


def targets(src, folder, name, quoted):
    """The files under src/ an include may mean: the one the compiler takes if it exists,
    else every candidate (so a header not written yet is judged too)."""
    cands = [os.path.normpath(os.path.join(folder, name))] if quoted else []
    cands.append(os.path.normpath(os.path.join(src, name)))
    cands = [c for c in cands if c.startswith(src + os.sep)]
    for c in cands:
        if os.path.exists(c):
            return [c]
    # a name that is nowhere under src/ is a system header, unless it points into a layer
    return [c for c in cands if os.path.relpath(c, src).split(os.sep)[0] in CAPABILITIES | set(LOWER)]


def main():
    src = os.path.abspath(sys.argv[1])
    bad = []
    for layer in sorted(os.listdir(src)):
        folder = os.path.join(src, layer)
        if not os.path.isdir(folder):
            continue
        if layer not in LOWER and layer not in CAPABILITIES:
            bad.append(f"src/{layer}: a folder no layer names (add it to tools/layers.py)")
            continue
        ok = allowed(layer)
        for root, _, files in os.walk(folder):
            for name in sorted(files):
                if not name.endswith((".c", ".h")):
                    continue
                path = os.path.join(root, name)
                rel = os.path.relpath(path, os.path.dirname(src))
                sql_ok = layer == "store"
                with open(path, encoding="utf-8", errors="replace") as f:
                    lines = logical_lines(f)
                for no, line in lines:
                    if not sql_ok and SQL.search(line):
                        bad.append(f"{rel}:{no}: only store speaks SQL; {layer} reads through "
                                   "store's API")
                        sql_ok = True  # one line per file is enough
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    arg = m.group(1).strip()
                    q, a_ = QUOTED.match(arg), ANGLED.match(arg)
                    if not q and not a_:
                        bad.append(f"{rel}:{no}: computed include ({arg}): the layers cannot be "
                                   "checked; name the header")
                        continue
                    name = (q or a_).group(1)
                    for target in targets(src, root, name, bool(q)):
                        to = os.path.relpath(target, src).split(os.sep)[0]
                        own = INTERNAL.get(os.path.relpath(target, src).replace(os.sep, "/"))
                        if own and own != layer:
                            bad.append(f"{rel}:{no}: {layer} may not include {name} "
                                       f"(internal to {own})")
                            break
                        if to not in ok:
                            bad.append(f"{rel}:{no}: {layer} may not include {name} "
                                       f"({to} is not below {layer}: core -> store -> capability -> main)")
                            break
    if bad:
        print("\n".join(bad), file=sys.stderr)
        return 1
    if len(sys.argv) > 2:
        with open(sys.argv[2], "w") as f:
            f.write("/* layers checked by tools/layers.py */\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
