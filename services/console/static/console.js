// caseflow console: live scorecard updates from the console's own event stream (no token in the browser).
"use strict";

const STATUS_LABELS = {
  met: "达标 met", not_met: "未达标 not met", no_data: "无数据 no data", no_target: "无目标 no target", not_judged: "按年考核 judged on the year",
};

// the same rule as pages.fmt_value on the server
function fmtValue(v) {
  if (v === null || v === undefined) return "—";
  return Number(v).toFixed(2).replace(/0+$/, "").replace(/\.$/, "");
}

function setLive(state, text) {
  const el = document.getElementById("live");
  if (!el) return;
  el.dataset.state = state;
  el.textContent = "实时 live: " + text;
}

function applyIndicator(item) {
  const row = document.querySelector(`tr.card[data-key="${CSS.escape(item.indicator + "|" + item.period)}"]`);
  if (!row) return false;
  const annualised = item.annualised ? " 年化 annualised " + fmtValue((item.extra || {}).annualised) : "";
  row.querySelector(".value").textContent = fmtValue(item.value) + annualised;
  row.querySelector(".num").textContent = fmtValue(item.numerator);
  row.querySelector(".den").textContent = fmtValue(item.denominator);
  row.querySelector(".status").textContent = STATUS_LABELS[item.status] || item.status;
  row.querySelector(".reason").textContent = item.reason || "";
  for (const cls of [...row.classList]) if (cls.startsWith("status-")) row.classList.remove(cls);
  row.classList.add("status-" + item.status);
  row.dataset.updated = String(Date.now());
  row.classList.remove("flash");
  void row.offsetWidth; // restart the highlight animation
  row.classList.add("flash");
  return true;
}

function connect(url) {
  const source = new EventSource(url);
  source.addEventListener("status", (e) => {
    const s = JSON.parse(e.data);
    setLive(s.state, s.state + (s.reason ? " (" + s.reason + ")" : ""));
  });
  source.addEventListener("indicator", (e) => {
    const item = JSON.parse(e.data);
    if (applyIndicator(item)) setLive("live", "updated " + chinaTime(new Date()));
  });
  source.onerror = () => setLive("reconnecting", "reconnecting…");
  window.addEventListener("pagehide", () => source.close());
}

// times are shown in China time with the zone, as the server renders them (rendering.when)
function chinaTime(d) {
  return d.toLocaleTimeString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }) + " CST (UTC+8)";
}

document.addEventListener("DOMContentLoaded", () => {
  const url = document.body.dataset.stream;
  if (url && window.EventSource) connect(url);
});
