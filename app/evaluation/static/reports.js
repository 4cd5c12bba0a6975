// The reports page: reads the JSON report endpoints with the user's bearer token, which
// is asked for once and kept in sessionStorage (this tab only). No external assets.
"use strict";

const TOKEN_KEY = "infodesk.reports.token";
const $ = (id) => document.getElementById(id);

function pad(n) { return String(n).padStart(2, "0"); }
function localDate(d) { return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`; }
function percent(rate) { return rate === null ? "–" : (rate * 100).toFixed(1) + "%"; }
function num(v, digits) { return v === null || v === undefined ? "–" : Number(v).toFixed(digits); }
// Working seconds as working hours:minutes (rounded to the minute).
function hm(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)}:${pad(minutes % 60)}`;
}

function cell(row, text, value) {
  const td = document.createElement("td");
  td.textContent = text;
  if (value !== undefined) td.dataset.value = value === null ? "" : String(value);
  row.appendChild(td);
  return td;
}

function showStatus(text, error) {
  const el = $("status");
  el.textContent = text;
  el.className = error ? "error" : "";
}

function askToken() {
  $("signin").hidden = false;
  $("filters").hidden = true;
  $("report").hidden = true;
  $("token").focus();
}

async function getJson(path, params) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v));
  const response = await fetch(`${path}?${query}`, {
    headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
  });
  const body = await response.json().catch(() => ({}));
  if (response.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    askToken();
    throw new Error("Token tidak berlaku / token not accepted");
  }
  if (!response.ok) throw new Error(body.detail || `HTTP ${response.status}`);
  return body;
}

function renderIkm(report) {
  $("ikm-value").textContent = num(report.ikm, 2);
  $("ikm-value").dataset.value = report.ikm === null ? "" : String(report.ikm);
  $("ikm-grade").textContent = report.grade || "–";
  $("ikm-label").textContent = report.label || "belum ada responden / no respondents";
  $("ikm-respondents").textContent = report.respondents;
  $("ikm-sample").textContent = report.sample_needed;
  $("ikm-served").textContent = report.served;
  const body = $("elements").tBodies[0];
  body.replaceChildren();
  for (const element of report.elements) {
    const row = body.insertRow();
    cell(row, element.code);
    cell(row, element.name);
    cell(row, num(element.nrr, 2), element.nrr);
  }
}

function svg(tag, attrs, text) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

// Bars of the share met (0-100%) per month, drawn as plain SVG.
function drawChart(rows) {
  const width = Math.max(320, rows.length * 48 + 50), height = 230, left = 40, bottom = 30;
  const plot = height - bottom - 20;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img",
    "aria-label": "Persentase tepat waktu per bulan / share met by month" });
  for (const tick of [0, 50, 100]) {
    const y = 20 + plot - (plot * tick) / 100;
    chart.appendChild(svg("line", { x1: left, x2: width, y1: y, y2: y, class: "axis" }));
    chart.appendChild(svg("text", { x: 4, y: y + 4 }, `${tick}%`));
  }
  rows.forEach((row, i) => {
    const x = left + 8 + i * 48;
    if (row.met_rate !== null) {
      const h = plot * row.met_rate;
      const bar = svg("rect", { x, y: 20 + plot - h, width: 32, height: h, class: "bar",
        "data-key": row.key, "data-rate": row.met_rate });
      bar.appendChild(svg("title", {}, `${row.key}: ${percent(row.met_rate)}`));
      chart.appendChild(bar);
      chart.appendChild(svg("text", { x, y: 16 + plot - h }, percent(row.met_rate)));
    }
    chart.appendChild(svg("text", { x, y: height - 12 }, row.key.slice(2)));
  });
  $("sla-chart").replaceChildren(chart);
}

function renderSla(report) {
  drawChart(report.rows);
  const body = $("sla-table").tBodies[0];
  body.replaceChildren();
  for (const r of report.rows) {
    const row = body.insertRow();
    row.dataset.key = r.key;
    cell(row, r.key);
    for (const name of ["received", "responded", "met", "missed", "open", "open_breached"]) {
      cell(row, String(r[name]), r[name]);
    }
    cell(row, percent(r.met_rate), r.met_rate);
  }
}

function renderOfficers(report) {
  const body = $("officers").tBodies[0];
  body.replaceChildren();
  for (const r of report.rows) {
    const row = body.insertRow();
    row.dataset.officer = r.officer;
    cell(row, r.officer);
    for (const name of ["responded", "answered", "escalated", "met", "missed"]) {
      cell(row, String(r[name]), r[name]);
    }
    cell(row, percent(r.met_rate), r.met_rate);
    const seconds = r.first_response_working_seconds;
    cell(row, hm(seconds.median), seconds.median);
    cell(row, hm(seconds.p90), seconds.p90);
    cell(row, num(r.ikm, 2), r.ikm);
    cell(row, String(r.respondents), r.respondents);
    cell(row, r.complaints === null ? "–" : String(r.complaints), r.complaints);
  }
}

async function load() {
  const params = { office_code: $("office").value.trim(), from: $("from").value, to: $("to").value };
  showStatus("Memuat… / loading…");
  try {
    const [ikm, sla, officers] = await Promise.all([
      getJson("/v1/reports/ikm", params),
      getJson("/v1/reports/sla", { ...params, group_by: "month" }),
      getJson("/v1/reports/officers", params),
    ]);
    renderIkm(ikm);
    renderSla(sla);
    renderOfficers(officers);
    $("report").hidden = false;
    document.body.dataset.loaded = "true";
    showStatus(`Periode ${params.from} – ${params.to}` + (ikm.office_code ? ` · ${ikm.office_code}` : ""));
  } catch (error) {
    showStatus(error.message, true);
  }
}

function start() {
  const today = new Date();
  $("from").value = `${today.getFullYear()}-01-01`;
  $("to").value = localDate(today);
  const query = new URLSearchParams(location.search);
  for (const name of ["office", "from", "to"]) {
    if (query.get(name)) $(name).value = query.get(name);
  }
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim().replace(/^Bearer\s+/i, ""));
    $("token").value = "";
    $("signin").hidden = true;
    $("filters").hidden = false;
    load();
  });
  $("filter-form").addEventListener("submit", (event) => { event.preventDefault(); load(); });
  $("signout").addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); askToken(); });
  if (sessionStorage.getItem(TOKEN_KEY)) {
    $("filters").hidden = false;
    load();
  } else {
    askToken();
  }
}

document.addEventListener("DOMContentLoaded", start);
