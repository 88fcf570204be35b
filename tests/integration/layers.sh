#!/usr/bin/env bash
# The layers are enforced by the build (tools/layers.py runs before any library compiles): an
# include against the grain, or SQL outside store, must fail with a line naming the file, the
# line and the rule; the tree as it is must pass.  Checked on a copy of src/ so nothing here
# can touch the real tree.
source "$(dirname "$0")/lib.sh"
L="$ROOT/tools/layers.py"
cp -r "$ROOT/src" "$T/src"
python3 "$L" "$T/src" || fail "the tree as it is breaks its own layers"

expect_refused() { # file include-line what-the-message-names
    cp "$T/src/$1" "$T/saved"
    echo "$2" >>"$T/src/$1"
    if python3 "$L" "$T/src" 2>"$T/err"; then fail "$1: '$2' was accepted"; fi
    grep -q "^src/$1:[0-9]*: $3" "$T/err" || { cat "$T/err" >&2; fail "$1: message does not name the rule"; }
    [ "$(wc -l <"$T/err")" -eq 1 ] || { cat "$T/err" >&2; fail "$1: one line per violation expected"; }
    cp "$T/saved" "$T/src/$1"
}
expect_refused core/addr.c '#include "../store/store.h"' "core may not include ../store/store.h"
expect_refused store/record.c '#include "../observe/surge.h"' "store may not include ../observe/surge.h"
expect_refused serve/params.c '#include "../report/report.h"' "serve may not include ../report/report.h"
expect_refused lure/telnet.c '#include "../observe/agg.h"' "lure may not include ../observe/agg.h"
expect_refused report/report.c '#include <sqlite3.h>' "only store speaks SQL"
# the ways round the rule a reviewer found: the -Isrc path, angle brackets, a macro, a continuation
expect_refused store/record.c '#include "observe/agg.h"' "store may not include observe/agg.h"
expect_refused store/record.c '#include <observe/agg.h>' "store may not include observe/agg.h"
expect_refused core/addr.c '#include "store/store.h"' "core may not include store/store.h"
expect_refused store/record.c '#define H "../observe/agg.h"
#include H' "computed include"
expect_refused store/record.c '#include \
"../observe/agg.h"' "store may not include ../observe/agg.h"
expect_refused store/record.c '#include "../store/../observe/agg.h"' "store may not include"
mkdir "$T/src/newcap" && echo 'int x;' >"$T/src/newcap/a.c"
if python3 "$L" "$T/src" 2>"$T/err"; then fail "an unknown folder was accepted"; fi
grep -q "src/newcap: a folder no layer names" "$T/err" || fail "unknown folder not named"
rm -r "$T/src/newcap"
# capabilities may use core and store (either spelling), system headers are not ours, and main.c
# includes anything
printf '#include "../store/store.h"\n#include "store/record.h"\n#include <stdio.h>\n#include <sys/stat.h>\n' \
    >>"$T/src/lure/telnet.c"
python3 "$L" "$T/src" || fail "a capability including store was refused"
# store's SQLite handle is store's own: not in store.h, and its header refused elsewhere
! grep -n "sqlite3" "$T/src/store/store.h" || fail "store.h names SQLite"
expect_refused report/report.c '#include "../store/store_int.h"' "report may not include ../store/store_int.h (internal to store)"
echo "layers: ok"
