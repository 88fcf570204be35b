// Browser test of the dashboard (playwright-core driving Debian's chromium,
// headless, loopback only): synth -> observe (+ the honeypot under replayed bots) ->
// serve, then the page must show the honeypot panel as report says (attackers' markup as text),
// map points for located sources, the 2323/tcp surge in its chart, the totals
// of `report --format json`, and switch its language.  Screenshots go to
// var/browser/.  Usage: node tests/browser/dashboard.mjs (MAMORI = binary).
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(new URL("../../web/package.json", import.meta.url));
const webDist = new URL("../../web/dist/index.html", import.meta.url).pathname;
if (!existsSync("/usr/bin/chromium") || !existsSync(webDist)) {
  console.log("browser: needs Debian's chromium and web/dist (make deps); skipped");
  process.exit(77);
}
const { chromium } = require("playwright-core");
const root = new URL("../..", import.meta.url).pathname;
const M = process.env.MAMORI || join(root, "build/mamori");
const DN = "198.18.0.0/16,2001:db8:1::/48";
const shots = join(root, "var/browser");
const errors = [];
const check = (ok, what) => { if (!ok) errors.push(what); };

const tmp = mkdtempSync(join(tmpdir(), "mamori-browser-"));
const cap = join(tmp, "t.pcap"), db = join(tmp, "t.db"), next = join(tmp, "next.pcap");
execFileSync(M, ["synth", "-q", "--out", cap, "--darknet", DN, "--packets", "150000", "--seed", "21"]);
// the hour after it, which the live view shows as observe appends it
execFileSync(M, ["synth", "-q", "--out", next, "--darknet", DN, "--packets", "20000", "--seed", "22",
                 "--start", "2016-09-20T01:00:00Z"]);
execFileSync(M, ["observe", "-q", "--darknet", DN, "--read", cap, "--db", db,
                 "--geo-dir", join(root, "node_modules/@ip-location-db")], { stdio: "ignore" });
// the honeypot on loopback, attacked by replayed bots, writes into the same database
execFileSync("python3", [join(root, "tools/lure_replay.py"), db, join(tmp, "lure.json"),
                         join(tmp, "lure-files")], { stdio: "ignore", env: { ...process.env, MAMORI: M } });
// two survey rounds (rows as probe writes them), then notify's notices for each
execFileSync("python3", ["-c", `
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for r, s in (("r1", 1000), ("r2", 2000)):
    c.execute("INSERT INTO survey_rounds VALUES(?, 'probe', ?, ?, '198.18.0.0/20', 'x', 100, 62, 9, 4)",
              (r, s * 10**6, (s + 60) * 10**6))
f = "INSERT INTO survey_findings VALUES(?, ?, ?, ?, 0, 'success', NULL, NULL, ?, ?, 'mirai.tsv', 2)"
for ip, port, proto, a1, a2 in (("198.18.0.10", 23, "telnet", 1, 0), ("198.18.0.11", 23, "telnet", 1, 1),
                                ("198.18.4.2", 80, "http", 1, 1), ("198.18.4.3", 22, "ssh", 0, 1)):
    c.execute(f, ("r1", ip, port, proto, a1, "mirai-default" if a1 else None))
    c.execute(f, ("r2", ip, port, proto, a2, "mirai-default" if a2 else None))
# a peer's indicators as share import stores them: one of the honeypot's download URLs, one address
(url,) = c.execute("SELECT url FROM lure_downloads WHERE url IS NOT NULL ORDER BY ts_us LIMIT 1").fetchone()
c.execute("INSERT INTO share_sources VALUES('peer-isac', 'B', 75, NULL, 1, 1)")
for kind, value in (("url", url), ("ipv4-addr", "198.51.100.77")):
    c.execute("INSERT INTO share_indicators(kind, value, source, role, first_us, last_us, received_us, confidence)"
              " VALUES(?, ?, 'peer-isac', 'download-url', 1, 2, 3, 60)", (kind, value))
c.execute("INSERT INTO share_log VALUES(3, 'import', '<b>isac</b>.json', 2, 2, 2, 0, 0, NULL)")
c.commit()
`, db]);
const owners = join(tmp, "owners.csv");
writeFileSync(owners, "prefix,isp,asn,abuse\n198.18.0.0/22,Example Net A,64500,abuse@a.example\n" +
                      "198.18.4.0/22,Example Net B,64501,abuse@b.example\n");
for (const r of ["r1", "r2"])
  execFileSync(M, ["notify", "-q", "--db", db, "--owners", owners, "--no-geo", "--no-infected", "--round", r,
                   "--out", join(tmp, "notify", r)]);
const report = JSON.parse(execFileSync(M, ["report", "--db", db, "--format", "json", "--top", "10"]));

const server = spawn(M, ["serve", "--db", db, "--web", join(root, "web/dist"), "--listen", "127.0.0.1:0"]);
const port = await new Promise((ok, fail) => {
  let buf = "";
  server.stderr.on("data", (d) => {
    buf += d;
    const m = buf.match(/serving http:\/\/127\.0\.0\.1:(\d+)\//);
    if (m) ok(Number(m[1]));
  });
  server.on("exit", (c) => fail(new Error(`serve exited ${c}: ${buf}`)));
});

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, locale: "en-US" });
  const requests = [];
  page.on("request", (r) => requests.push(r.url()));
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForSelector("body[data-ready='1']", { timeout: 30000 }).catch((e) => {
    throw new Error(`${e.message}\n${errors.join("\n")}`);
  });
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, "dashboard-en.png"), fullPage: true });

  const points = await page.locator("#map circle.pt").count();
  check(points > 50, `map points: ${points}`);
  const shown = await page.locator("#t-packets").textContent();
  check(shown === report.totals.packets.toLocaleString("en-US"),
        `totals shown ${shown}, report ${report.totals.packets}`);
  const c2323 = page.locator(".chart[data-port='2323']");
  check(Number(await c2323.getAttribute("data-alerts")) === 1, "2323/tcp chart has no alert marker");
  await page.selectOption("#res", "60");
  await page.waitForFunction(() => document.querySelector(".chart[data-port='2323']").dataset.points === "60");
  const series = await page.evaluate(async () =>
    (await (await fetch("/api/v1/timeseries?proto=tcp&port=2323&res=60")).json()).points);
  const half = (a) => a.reduce((s, p) => s + p.sources, 0) / a.length;
  check(half(series.slice(40, 50)) > 2 * half(series.slice(0, 30)), "2323/tcp surge not in the data");
  check(Number(await c2323.getAttribute("data-max-sources")) === Math.max(...series.map((p) => p.sources)),
        "chart maximum differs from the API");
  check(await page.locator(".chart[data-port='2323'] line.alert-mark").count() === 1, "alert marker line");
  // any port can be charted: 7547/tcp (a Mirai variant port in synth) via the form
  await page.fill("#port-input", "7547/tcp");
  await page.press("#port-input", "Enter");
  await page.waitForFunction(() => Number(document.querySelector(".chart[data-port='7547']")?.dataset.points) > 0);
  check(await page.locator(".chart[data-port='7547'] path.packets").count() === 1, "7547/tcp chart");
  // the honeypot panel: what report says, and attackers' markup shown as text, never run
  const hp = report.honeypot;
  check(await page.locator("#honeypot").isVisible(), "honeypot panel hidden");
  check(await page.locator("#hp-sessions").textContent() === hp.sessions.toLocaleString("en-US"),
        "honeypot sessions differ from report");
  const creds = await page.locator("#hp-credentials td:first-child").allTextContents();
  check(JSON.stringify(creds) === JSON.stringify(hp.credentials.map((r) => `${r.username} / ${r.password}`)),
        `credentials shown ${creds}`);
  check(creds.some((c) => c.startsWith("<img src=x")), "attacker markup not shown as text");
  check(await page.locator("#honeypot img").count() === 0 &&
        await page.evaluate(() => document.body.dataset.xss) === undefined, "attacker markup ran");
  const urls = await page.locator("#hp-urls td:first-child").allTextContents();
  check(urls.length === 3 && urls.every((u) => hp.urls.some((r) => r.url === u)), `urls shown ${urls}`);
  check(await page.locator("#hp-hashes tr").count() === 1, "dropper hash not shown");
  await page.locator("#honeypot").screenshot({ path: join(shots, "dashboard-honeypot.png") });
  // the survey panel: per round, still open vs fixed as notify reported them; per ISP the latest round
  check(await page.locator("#survey").isVisible(), "survey panel hidden");
  const want = {};
  for (const n of report.survey.notices) {
    want[n.round] ??= { open: 0, fixed: 0 };
    want[n.round][n.kind === "fixed" ? "fixed" : "open"] += n.hosts;
  }
  const bars = await page.locator("#sv-chart g.round").evaluateAll((gs) =>
    Object.fromEntries(gs.map((g) => [g.dataset.round, { open: Number(g.dataset.open), fixed: Number(g.dataset.fixed) }])));
  check(JSON.stringify(bars) === JSON.stringify(want) && want.r2.fixed === 1 && want.r2.open === 3,
        `survey bars ${JSON.stringify(bars)} != ${JSON.stringify(want)}`);
  const isps = await page.locator("#sv-owners td:first-child").allTextContents();
  check(JSON.stringify(isps.sort()) === JSON.stringify(["Example Net A", "Example Net B"]), `survey ISPs ${isps}`);
  await page.locator("#survey").screenshot({ path: join(shots, "dashboard-survey.png") });
  // the share panel: sources with their grade as report has them; the peer's URL joins the honeypot's campaign
  check(await page.locator("#share").isVisible(), "share panel hidden");
  const srcs = await page.locator("#sh-sources td:first-child").allTextContents();
  check(JSON.stringify(srcs) === JSON.stringify(report.share.sources.map((r) => r.source)) &&
        srcs.includes("peer-isac"), `share sources ${srcs}`);
  const grades = await page.locator("#sh-sources td:nth-child(2)").allTextContents();
  check(grades[srcs.indexOf("peer-isac")] === "B", `peer grade ${grades}`);
  const peers = await page.locator("#sh-exchanges td:nth-child(2)").allTextContents();
  check(peers.includes("<b>isac</b>.json") && await page.locator("#share b b").count() === 0,
        `exchange peer not shown as text: ${peers}`);
  const camp = await page.locator("#sh-campaigns tr").count();
  check(camp === Math.min(10, report.share.campaigns.length) && camp > 0 &&
        report.share.campaigns.some((c) => c.sources.includes("peer-isac")), `campaigns shown ${camp}`);
  await page.locator("#share").screenshot({ path: join(shots, "dashboard-share.png") });
  const before = await page.locator("[data-i18n='map_title']").textContent();
  await page.keyboard.press("Tab"); // keyboard usable: reach the language button and press it
  await page.focus("#lang");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.documentElement.lang === "ja");
  const after = await page.locator("[data-i18n='map_title']").textContent();
  check(before !== after && /[\u3040-\u30ff\u4e00-\u9fff]/.test(after), `language switch: ${before} -> ${after}`);
  await page.waitForSelector("body[data-ready='1']");
  await page.screenshot({ path: join(shots, "dashboard-ja.png"), fullPage: true });
  // live view: turn it on, then observe writes into the same database
  await page.click("#live");
  await page.waitForSelector("body[data-stream='open']"); // the stream sends what comes after it opened
  execFileSync(M, ["observe", "-q", "--darknet", DN, "--read", next, "--db", db,
                   "--geo-dir", join(root, "node_modules/@ip-location-db")], { stdio: "ignore" });
  const gained = await page.waitForFunction(() => Number(document.body.dataset.live || 0) > 50, null,
                                            { timeout: 20000 }).then(() => true, () => false);
  check(gained, "live view gained no points while observe ran");
  await page.screenshot({ path: join(shots, "dashboard-live.png"), fullPage: true });
  const external = requests.filter((u) => !u.startsWith(`http://127.0.0.1:${port}/`));
  check(external.length === 0, `requests off the server: ${external.join(", ")}`);
} finally {
  await browser.close();
  server.kill("SIGTERM");
  rmSync(tmp, { recursive: true, force: true });
}
if (errors.length) {
  console.log(`FAIL:\n  ${errors.join("\n  ")}`);
  process.exit(1);
}
console.log("browser: 1 passed, 0 failed (map points, totals, 2323/tcp surge and marker, honeypot panel, survey panel, share panel, ja/en, live view)");
