// mamori dashboard: reads mamori serve's JSON API and draws the map, the
// per-port charts and the panels.  Plain JS over d3 + topojson from npm.
"use strict";

const I18N = {
  en: { subtitle: "darknet observatory", window: "Window", resolution: "Resolution",
        last_hour: "last hour", last_day: "last day", everything: "everything",
        packets: "packets", sources: "sources", iot_share: "to IoT ports", alerts: "Surge alerts",
        dos: "DoS victims", map_title: "Where the packets come from",
        charts_title: "Packets and hosts per port", top_ports: "Top ports",
        top_countries: "Top countries", fingerprints: "Scanners", hosts: "hosts",
        tcp_syn: "TCP scan", udp: "UDP", icmp_request: "ICMP", backscatter: "backscatter",
        other: "other", none: "none", lang_button: "日本語", live: "Live", add_port: "Add a port", ports: "ports",
        add: "Add", remove: "remove",
        live_packets: "live packets", honeypot_title: "Honeypot", sessions: "sessions",
        logins_ok: "logins accepted", urls_seen: "download URLs", files_saved: "files saved",
        credentials: "Credentials tried", commands: "Commands",
        urls: "Download URLs (never fetched)", hashes: "Files bots built (SHA-256)",
        survey_title: "Vulnerable-device survey", latest_round: "latest round", still_open: "still open",
        fixed: "fixed", infected: "infected hosts", by_protocol: "Logins accepted by protocol",
        by_isp: "Notices by ISP (still open · fixed · infected)", of: "of",
        share_title: "Threat sharing", share_sources: "Sources and trust", share_exchanges: "Exchanges",
        campaigns: "Campaigns (scanners, loaders, URLs, files seen together)", indicators: "indicators",
        exchanges: "exchanges", campaigns_n: "campaigns" },
  ja: { subtitle: "ダークネット観測", window: "期間", resolution: "粒度",
        last_hour: "直近1時間", last_day: "直近1日", everything: "全期間",
        packets: "パケット", sources: "送信元", iot_share: "IoTポート宛", alerts: "急増アラート",
        dos: "DoS被害ホスト", map_title: "パケットの送信元", charts_title: "ポート別パケット数とホスト数",
        top_ports: "上位ポート", top_countries: "上位の国・地域", fingerprints: "スキャナ",
        hosts: "ホスト", tcp_syn: "TCPスキャン", udp: "UDP", icmp_request: "ICMP",
        backscatter: "バックスキャッタ", other: "その他", none: "なし", lang_button: "English",
        add_port: "ポートを追加", ports: "ポート", add: "追加", remove: "削除",
        live: "ライブ", live_packets: "ライブのパケット", honeypot_title: "ハニーポット",
        sessions: "セッション", logins_ok: "ログイン成功", urls_seen: "ダウンロードURL",
        files_saved: "保存したファイル", credentials: "試行されたID・パスワード",
        commands: "実行されたコマンド", urls: "ダウンロードURL（取得はしない）",
        hashes: "ボットが作ったファイル（SHA-256）",
        survey_title: "脆弱な IoT 機器の調査", latest_round: "最新ラウンド", still_open: "未対策",
        fixed: "対策済み", infected: "感染ホスト", by_protocol: "プロトコル別ログイン成功",
        by_isp: "ISP 別の通知（未対策・対策済み・感染）", of: "/",
        share_title: "脅威情報の共有", share_sources: "情報源と信頼度", share_exchanges: "送受信",
        campaigns: "キャンペーン（同時に見えたスキャナ・ローダ・URL・ファイル）", indicators: "指標",
        exchanges: "送受信", campaigns_n: "キャンペーン" },
};
// display only: a colour per class name the server sends (unknown names get "other"'s)
const CLASS_COLOR = { tcp_syn: "var(--tcp)", udp: "var(--udp)", icmp_request: "var(--icmp)",
                      backscatter: "var(--bs)", other: "var(--other)" };
let lang = localStorage.getItem("mamori-lang") || (navigator.language.startsWith("ja") ? "ja" : "en");
const t = (k) => I18N[lang][k] ?? k;
const fmt = (n) => Number(n).toLocaleString(lang === "ja" ? "ja-JP" : "en-US");

async function api(path) {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.json();
}

// Class and fingerprint names come from the server's tables (GET /api/v1/names), once.
let namesDoc = null;
async function names() {
  namesDoc ??= await api("/api/v1/names");
  return namesDoc;
}

function windowQuery(latestEnd) {
  const span = Number(document.getElementById("window").value);
  return span && latestEnd ? `from=${Math.floor(Date.parse(latestEnd) / 1000) - span}` : "";
}

function applyLanguage() {
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-i18n]").forEach((e) => { e.textContent = t(e.dataset.i18n); });
  document.getElementById("lang").textContent = t("lang_button");
}

function table(id, rows, cols) {
  const el = document.getElementById(id);
  el.replaceChildren();
  if (!rows.length) { el.insertRow().insertCell().textContent = t("none"); return; }
  for (const r of rows) {
    const tr = el.insertRow();
    cols.forEach(([get, numeric]) => {
      const td = tr.insertCell();
      td.textContent = numeric ? fmt(get(r)) : get(r);
      if (numeric) td.className = "n";
    });
  }
}

/* The honeypot's findings.  Everything in them was typed by attackers, so it
 * only ever goes into the page as text (table() sets textContent). */
function drawHoneypot(h) {
  const panel = document.getElementById("honeypot");
  panel.hidden = !(h && h.sessions);
  if (panel.hidden) return;
  document.getElementById("hp-sessions").textContent = fmt(h.sessions);
  document.getElementById("hp-ok").textContent = fmt(h.logins_ok);
  document.getElementById("hp-urls-seen").textContent = fmt(h.urls_seen);
  document.getElementById("hp-files").textContent = fmt(h.files_saved);
  table("hp-credentials", h.credentials, [[(r) => `${r.username} / ${r.password}`],
        [(r) => r.attempts, 1], [(r) => r.successes, 1]]);
  table("hp-commands", h.commands, [[(r) => r.input], [(r) => r.count, 1]]);
  table("hp-urls", h.urls, [[(r) => r.url], [(r) => r.count, 1]]);
  table("hp-hashes", h.hashes, [[(r) => r.sha256.slice(0, 16) + "…"], [(r) => r.path],
        [(r) => r.size, 1]]);
}

/* The survey: per probe round, devices still open (vulnerable or not tested
 * again) against those fixed since the round before; per ISP, what notify
 * reported in the latest round.  Owner names come from files an operator
 * gave, device text never reaches this view. */
function drawSurvey(sv) {
  const panel = document.getElementById("survey");
  panel.hidden = !(sv && sv.rounds.length);
  if (panel.hidden) return;
  const probes = sv.rounds.filter((r) => r.tool === "probe").map((r) => r.round);
  const per = new Map(probes.map((r) => [r, { round: r, open: 0, fixed: 0, infected: 0 }]));
  for (const n of sv.notices) {
    const x = per.get(n.round);
    if (!x) continue;
    if (n.kind === "fixed") x.fixed += n.hosts;
    else if (n.kind === "infected") x.infected += n.hosts;
    else x.open += n.hosts;
  }
  const rows = [...per.values()];
  const last = rows[rows.length - 1] || { round: "–", open: 0, fixed: 0, infected: 0 };
  document.getElementById("sv-round").textContent = last.round;
  document.getElementById("sv-open").textContent = fmt(last.open);
  document.getElementById("sv-fixed").textContent = fmt(last.fixed);
  document.getElementById("sv-infected").textContent = fmt(last.infected);
  const latest = sv.findings.filter((f) => f.round === last.round);
  table("sv-protocols", latest, [[(r) => r.protocol], [(r) => `${fmt(r.accepted)} ${t("of")} ${fmt(r.probed)}`]]);
  const owners = new Map();
  for (const n of sv.notices.filter((n) => n.round === last.round)) {
    const o = owners.get(n.owner) ?? { owner: n.owner, asn: n.asn, open: 0, fixed: 0, infected: 0 };
    if (n.kind === "fixed") o.fixed += n.hosts; else if (n.kind === "infected") o.infected += n.hosts;
    else o.open += n.hosts;
    owners.set(n.owner, o);
  }
  /* the owners with most hosts to act on first, fifteen of them (notify's index has them all) */
  const rank = (o) => [o.open + o.fixed, o.infected];
  table("sv-owners", [...owners.values()].sort((a, b) => rank(b)[0] - rank(a)[0] || rank(b)[1] - rank(a)[1])
        .slice(0, 15),
        [[(r) => r.owner], [(r) => (r.asn ? `AS${r.asn}` : "–")], [(r) => r.open, 1], [(r) => r.fixed, 1],
         [(r) => r.infected, 1]]);
  const svg = d3.select("#sv-chart");
  svg.selectAll("*").remove();
  const W = 600, H = 170, m = { l: 48, r: 12, t: 20, b: 24 };
  const x = d3.scaleBand().domain(rows.map((r) => r.round)).range([m.l, W - m.r]).padding(0.3);
  const y = d3.scaleLinear().domain([0, d3.max(rows, (r) => r.open + r.fixed) || 1]).nice().range([H - m.b, m.t]);
  svg.append("g").attr("class", "axis").attr("transform", `translate(0,${H - m.b})`).call(d3.axisBottom(x));
  svg.append("g").attr("class", "axis").attr("transform", `translate(${m.l},0)`).call(d3.axisLeft(y).ticks(4));
  const g = svg.append("g").selectAll("g").data(rows).join("g").attr("class", "round")
    .attr("data-round", (r) => r.round).attr("data-open", (r) => r.open).attr("data-fixed", (r) => r.fixed);
  g.append("rect").attr("class", "open").attr("x", (r) => x(r.round)).attr("width", x.bandwidth())
    .attr("y", (r) => y(r.open)).attr("height", (r) => y(0) - y(r.open));
  g.append("rect").attr("class", "fixed").attr("x", (r) => x(r.round)).attr("width", x.bandwidth())
    .attr("y", (r) => y(r.open + r.fixed)).attr("height", (r) => y(r.open) - y(r.open + r.fixed));
  const title = svg.append("text").attr("class", "title").attr("x", m.l).attr("y", 14);
  title.append("tspan").style("fill", "var(--bs)").text(t("still_open"));
  title.append("tspan").text(" / ");
  title.append("tspan").style("fill", "var(--udp)").text(t("fixed"));
}

/* Sharing: who told us what (grade A-F and the trust it maps to), what was
 * exchanged, and the campaigns linking scanners, loaders, URLs and files.
 * Values and peer names come from other organisations: text only. */
function drawShare(sh) {
  const panel = document.getElementById("share");
  panel.hidden = !(sh && (sh.sources.length || sh.exchanges.length));
  if (panel.hidden) return;
  const total = sh.sources.reduce((a, r) => a + r.indicators, 0);
  document.getElementById("sh-n-indicators").textContent = fmt(total);
  document.getElementById("sh-n-exchanges").textContent = fmt(sh.exchanges.reduce((a, r) => a + r.times, 0));
  document.getElementById("sh-n-campaigns").textContent = fmt(sh.campaigns.length);
  table("sh-sources", sh.sources, [[(r) => r.source], [(r) => r.reliability ?? "–"], [(r) => (r.trust == null ? "–" : fmt(r.trust))],
        [(r) => r.indicators, 1], [(r) => r.confidence, 1]]);
  table("sh-exchanges", sh.exchanges, [[(r) => r.action], [(r) => r.peer], [(r) => r.indicators, 1],
        [(r) => r.fresh, 1], [(r) => r.dropped, 1]]);
  table("sh-campaigns", sh.campaigns.slice(0, 10), [[(r) => r.members.ip.slice(0, 3).join(" ")],
        [(r) => r.addresses, 1], [(r) => r.loaders, 1], [(r) => r.urls, 1], [(r) => r.files, 1],
        [(r) => r.sources.join(", ")]]);
}

let world = null;
let currentQuery = "";
let proj = null;
/* where the arcs land: a telescope in Tokyo, like NICTER's */
const SENSOR = [139.69, 35.69];
async function drawMap(q) {
  world ??= await (await fetch("vendor/countries-110m.json")).json();
  const svg = d3.select("#map");
  proj = d3.geoNaturalEarth1().fitSize([960, 480], { type: "Sphere" });
  const path = d3.geoPath(proj);
  svg.selectAll("*").remove();
  svg.append("path").attr("class", "land")
    .attr("d", path(topojson.feature(world, world.objects.countries)));
  const pts = await api(`/api/v1/geo?n=2000${q ? "&" + q : ""}`);
  const r = d3.scaleSqrt().domain([0, d3.max(pts, (p) => p.packets) || 1]).range([1.5, 14]);
  const tip = document.getElementById("tip");
  svg.append("g").selectAll("circle").data(pts).join("circle")
    .attr("class", "pt").attr("r", (p) => r(p.packets))
    .attr("cx", (p) => proj([p.lon, p.lat])[0]).attr("cy", (p) => proj([p.lon, p.lat])[1])
    .attr("fill", (p) => CLASS_COLOR[p.class] || CLASS_COLOR.other)
    .attr("data-cc", (p) => p.cc || "")
    .on("mousemove", (ev, p) => {
      tip.hidden = false;
      tip.style.left = `${ev.clientX + 12}px`;
      tip.style.top = `${ev.clientY + 12}px`;
      tip.textContent = `${p.cc || "??"}  ${p.lat}°, ${p.lon}°${p.asn ? `  AS${p.asn}` : ""}\n` +
                        `${fmt(p.packets)} ${t("packets")}, ${fmt(p.sources)} ${t("sources")}\n` +
                        `${t(p.class)}${p.fingerprint ? ` (${p.fingerprint})` : ""}\n` +
                        `${t("ports")}: ${(p.ports || []).slice(0, 6).join(", ")}`;
    })
    .on("mouseleave", () => { tip.hidden = true; });
  svg.append("g").attr("id", "live-layer");
  svg.append("circle").attr("class", "sensor").attr("r", 4)
    .attr("cx", proj(SENSOR)[0]).attr("cy", proj(SENSOR)[1]);
  // the classes are the server's (classify's table); only their colours and words are ours
  const { classes } = await names();
  document.getElementById("legend").replaceChildren(...classes.map(({ name, help }) => {
    const li = document.createElement("li");
    const dot = document.createElement("i");
    dot.style.background = CLASS_COLOR[name] || CLASS_COLOR.other;
    li.append(dot, t(name));
    li.title = help;
    return li;
  }));
}

async function drawChart(el, q) {
  const { proto, port } = el.dataset;
  const res = document.getElementById("res").value;
  const ts = await api(`/api/v1/timeseries?proto=${proto}&port=${port}&res=${res}${q ? "&" + q : ""}`);
  const pts = ts.points.map((p) => ({ ...p, t: new Date(p.t) }));
  el.dataset.points = pts.length;
  el.dataset.maxSources = d3.max(pts, (p) => p.sources) || 0;
  el.dataset.alerts = ts.alerts.length;
  const W = 600, H = 170, m = { l: 48, r: 48, t: 20, b: 20 };
  const svg = d3.select(el).selectAll("svg").data([0]).join("svg").attr("viewBox", `0 0 ${W} ${H}`);
  svg.selectAll("*").remove();
  const x = d3.scaleUtc().domain(d3.extent(pts, (p) => p.t)).range([m.l, W - m.r]);
  const yp = d3.scaleLinear().domain([0, d3.max(pts, (p) => p.packets) || 1]).nice().range([H - m.b, m.t]);
  const ys = d3.scaleLinear().domain([0, d3.max(pts, (p) => p.sources) || 1]).nice().range([H - m.b, m.t]);
  const span = pts.length ? pts[pts.length - 1].t - pts[0].t : 0;
  const tick = d3.utcFormat(span <= 2 * 86400e3 ? "%H:%M" : "%m-%d"); /* UTC, 24 h */
  svg.append("g").attr("class", "axis").attr("transform", `translate(0,${H - m.b})`)
    .call(d3.axisBottom(x).ticks(6).tickFormat(tick));
  svg.append("g").attr("class", "axis").attr("transform", `translate(${m.l},0)`).call(d3.axisLeft(yp).ticks(4));
  svg.append("g").attr("class", "axis").attr("transform", `translate(${W - m.r},0)`).call(d3.axisRight(ys).ticks(4));
  svg.append("path").attr("class", "packets").attr("d", d3.line().x((p) => x(p.t)).y((p) => yp(p.packets))(pts));
  svg.append("path").attr("class", "sources").attr("d", d3.line().x((p) => x(p.t)).y((p) => ys(p.sources))(pts));
  for (const a of ts.alerts) {
    const ax = x(new Date(a.at));
    svg.append("line").attr("class", "alert-mark").attr("x1", ax).attr("x2", ax).attr("y1", m.t).attr("y2", H - m.b);
  }
  const title = svg.append("text").attr("class", "title").attr("x", m.l).attr("y", 14);
  title.append("tspan").text(`${port}/${proto}  `);
  title.append("tspan").style("fill", "var(--tcp)").text(t("packets"));
  title.append("tspan").text(" / ");
  title.append("tspan").style("fill", "var(--udp)").text(t("hosts"));
}

async function refresh() {
  document.body.dataset.ready = "0";
  const base = await api("/api/v1/summary?top=1");
  const q = windowQuery(base.window.to);
  currentQuery = q;
  const s = await api(`/api/v1/summary?top=10${q ? "&" + q : ""}`);
  document.getElementById("t-packets").textContent = fmt(s.totals.packets);
  document.getElementById("t-sources").textContent = fmt(s.totals.sources);
  document.getElementById("t-iot").textContent = `${(100 * s.totals.iot_share).toFixed(1)}%`;
  document.getElementById("t-alerts").textContent = fmt(s.alerts.length);
  document.getElementById("t-dos").textContent = fmt(s.dos.length);
  table("ports", s.ports, [[(r) => `${r.port}/${r.proto}`], [(r) => r.packets, 1], [(r) => r.sources, 1]]);
  table("countries", s.countries, [[(r) => r.cc], [(r) => r.packets, 1], [(r) => r.sources, 1]]);
  table("fingerprints", s.fingerprints, [[(r) => r.name], [(r) => r.packets, 1], [(r) => r.sources, 1]]);
  table("alerts", s.alerts, [[(r) => r.at.replace("T", " ").replace("Z", "")], [(r) => `${r.port}/${r.proto}`], [(r) => r.sources, 1]]);
  table("dos", s.dos, [[(r) => r.target], [(r) => r.proto], [(r) => r.packets, 1]]);
  drawHoneypot(s.honeypot);
  drawSurvey(s.survey);
  drawShare(s.share);
  await Promise.all([drawMap(q), ...[...document.querySelectorAll(".chart")].map((el) => drawChart(el, q))]);
  document.body.dataset.ready = "1";
}

/* Live view: packets sampled by observe, as arcs from their source to the sensor. */
let events = null;
let liveCount = 0;
function arc(p) {
  if (!proj || p.lat == null || p.lon == null) return;
  const [x0, y0] = proj([p.lon, p.lat]), [x1, y1] = proj(SENSOR);
  const mx = (x0 + x1) / 2, my = Math.min(y0, y1) - Math.hypot(x1 - x0, y1 - y0) / 4;
  const path = d3.select("#live-layer").append("path").attr("class", "arc")
    .attr("d", `M${x0},${y0} Q${mx},${my} ${x1},${y1}`)
    .attr("stroke", CLASS_COLOR[p.class] || CLASS_COLOR.other);
  const len = path.node().getTotalLength();
  path.style("--len", len).style("stroke-dasharray", len);
  setTimeout(() => path.remove(), 1700);
}
function setLive(on) {
  const btn = document.getElementById("live");
  btn.setAttribute("aria-pressed", String(on));
  document.getElementById("live-status").hidden = !on;
  if (events) { events.close(); events = null; delete document.body.dataset.stream; }
  if (!on) return;
  events = new EventSource("/api/v1/stream");
  events.onopen = () => { document.body.dataset.stream = "open"; };
  events.addEventListener("packet", (e) => {
    const p = JSON.parse(e.data);
    document.getElementById("live-count").textContent = fmt(++liveCount);
    document.body.dataset.live = liveCount;
    arc(p);
  });
  events.addEventListener("alert", () => refresh());
}
/* Charts for any port: "PORT/proto" added by the form, removable, kept in the URL hash. */
function addChart(proto, port) {
  if (document.querySelector(`.chart[data-proto='${proto}'][data-port='${port}']`)) return null;
  const el = document.createElement("div");
  el.className = "chart";
  el.dataset.proto = proto;
  el.dataset.port = port;
  const rm = document.createElement("button");
  rm.type = "button";
  rm.className = "remove";
  rm.textContent = "×";
  rm.setAttribute("aria-label", `${t("remove")} ${port}/${proto}`);
  rm.addEventListener("click", () => el.remove());
  el.append(rm);
  document.getElementById("chart-list").append(el);
  return el;
}
document.getElementById("add-port").addEventListener("submit", (e) => {
  e.preventDefault();
  const m = document.getElementById("port-input").value.trim().match(/^(\d{1,5})\/(tcp|udp)$/);
  if (!m || Number(m[1]) > 65535) return;
  const el = addChart(m[2], m[1]);
  if (el) drawChart(el, currentQuery);
  document.getElementById("port-input").value = "";
});

document.getElementById("live").addEventListener("click", () =>
  setLive(document.getElementById("live").getAttribute("aria-pressed") !== "true"));

document.getElementById("lang").addEventListener("click", () => {
  lang = lang === "ja" ? "en" : "ja";
  localStorage.setItem("mamori-lang", lang);
  applyLanguage();
  refresh();
});
document.getElementById("window").addEventListener("change", refresh);
document.getElementById("res").addEventListener("change", refresh);
applyLanguage();
refresh().catch((e) => { document.body.dataset.error = e.message; console.error(e); });
