#!/usr/bin/env python3
"""layers — the include rule the build enforces (design.md "Layers are Meson libraries").

core knows nothing above it; store (the data model: schema, migrations, sinks, the read side)
sees core only; a capability sees core and store, never another capability; src/main.c sees
everything.  Every "..." include of every file under src/ is resolved against the file's folder
and checked here; a violation fails the build with one line per offending include.  Run by Meson
before any library compiles (the stamp it writes is a source of each library), and by hand:
    tools/layers.py SRC_DIR [STAMP]
To add a capability: add its folder to CAPABILITIES below and a library to meson.build."""
import os
import re
import sys

LOWER = {"core": set(), "store": {"core"}}
CAPABILITIES = {"observe", "lure", "report", "serve", "synth"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
# Only store speaks SQL: no other layer names sqlite3 (its header, types or calls).
SQL = re.compile(r'\bsqlite3')
# Headers of a layer for that layer alone: store_int.h hands out the SQLite handle.
INTERNAL = {"store/store_int.h": "store"}


def allowed(layer):
    if layer in LOWER:
        return LOWER[layer] | {layer}
    return {"core", "store", layer}


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
                    for no, line in enumerate(f, 1):
                        if not sql_ok and SQL.search(line):
                            bad.append(f"{rel}:{no}: only store speaks SQL; {layer} reads through "
                                       "store's API")
                            sql_ok = True  # one line per file is enough
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        target = os.path.normpath(os.path.join(root, m.group(1)))
                        if not target.startswith(src + os.sep):
                            continue  # generated or outside src/
                        to = os.path.relpath(target, src).split(os.sep)[0]
                        own = INTERNAL.get(os.path.relpath(target, src).replace(os.sep, "/"))
                        if own and own != layer:
                            bad.append(f"{rel}:{no}: {layer} may not include {m.group(1)} "
                                       f"(internal to {own})")
                            continue
                        if to not in ok:
                            bad.append(f"{rel}:{no}: {layer} may not include {m.group(1)} "
                                       f"({to} is not below {layer}: core -> store -> capability -> main)")
    if bad:
        print("\n".join(bad), file=sys.stderr)
        return 1
    if len(sys.argv) > 2:
        with open(sys.argv[2], "w") as f:
            f.write("/* layers checked by tools/layers.py */\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
