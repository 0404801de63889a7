// The admin console: a thin page over the JSON admin API (/v1/...). The admin token lives
// in sessionStorage for this tab only; every value is written with textContent, never HTML.
"use strict";

const state = { token: sessionStorage.getItem("fieldpass-token"), events: [], eventId: null };
const $ = (id) => document.getElementById(id);

function say(text, isError) {
  $("message").textContent = text || "";
  $("message").className = isError ? "error" : "";
}

async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (state.token) headers["Authorization"] = "Bearer " + state.token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try { data = await resp.json(); } catch (e) { data = null; }
  if (resp.status === 401) { logout("Your session has expired: log in again."); throw new Error("unauthorized"); }
  if (!resp.ok) throw new Error((data && data.message) || ("HTTP " + resp.status));
  return data;
}

function cell(row, value, numeric) {
  const td = document.createElement("td");
  td.textContent = value === null || value === undefined ? "" : String(value);
  if (numeric) td.className = "num";
  row.appendChild(td);
  return td;
}

function fillTable(table, columns, rows, empty) {
  table.replaceChildren();
  const head = table.createTHead().insertRow();
  for (const [title] of columns) {
    const th = document.createElement("th");
    th.textContent = title;
    head.appendChild(th);
  }
  const body = table.createTBody();
  if (!rows.length) {
    const td = cell(body.insertRow(), empty);
    td.colSpan = columns.length;
    return;
  }
  for (const item of rows) {
    const tr = body.insertRow();
    for (const [, pick, numeric] of columns) {
      const value = pick(item);
      if (value instanceof Node) { const td = cell(tr, ""); td.appendChild(value); }
      else cell(tr, value, numeric);
    }
  }
}

// Today's times as a clock time only; older ones with their date.
function time(iso) {
  if (!iso) return "";
  const at = new Date(iso);
  return at.toDateString() === new Date().toDateString() ? at.toLocaleTimeString() : at.toLocaleString();
}
const skew = (ms) => (ms === null || ms === undefined ? "" : (ms / 1000).toFixed(1) + " s");

function statusBadge(status) {
  const span = document.createElement("span");
  span.textContent = status;
  span.className = "status-" + status;
  return span;
}

function revokeButton(device) {
  if (device.status !== "approved") return "";
  const button = document.createElement("button");
  button.textContent = "Revoke";
  button.addEventListener("click", async () => {
    if (!confirm("Revoke device " + device.name + "? It will no longer sync.")) return;
    try { await api("POST", "/v1/devices/" + encodeURIComponent(device.id) + "/revoke"); say("Device revoked."); await refresh(); }
    catch (e) { say(e.message, true); }
  });
  return button;
}

function resolveButton(conflict) {
  const button = document.createElement("button");
  button.textContent = "Resolve";
  button.addEventListener("click", async () => {
    const resolution = prompt("How was " + conflict.kind + " of " + conflict.subject + " settled?");
    if (!resolution) return;
    try { await api("POST", "/v1/conflicts/" + conflict.id + "/resolve", { resolution }); say("Conflict resolved."); await refresh(); }
    catch (e) { say(e.message, true); }
  });
  return button;
}

function bar(count, max) {
  const span = document.createElement("span");
  span.className = "bar";
  span.style.width = (max ? Math.round((120 * count) / max) : 0) + "px";
  span.title = String(count);
  return span;
}

async function loadEvents() {
  const data = await api("GET", "/v1/events");
  state.events = data.events || [];
  const select = $("event-select");
  select.replaceChildren();
  for (const ev of state.events) {
    const option = document.createElement("option");
    option.value = ev.id;
    option.textContent = ev.name + (ev.starts_at ? " — " + time(ev.starts_at) : "");
    select.appendChild(option);
  }
  if (!state.events.some((ev) => ev.id === state.eventId)) state.eventId = state.events.length ? state.events[0].id : null;
  select.value = state.eventId || "";
}

async function refresh() {
  try {
    await loadEvents();
    const devices = (await api("GET", "/v1/devices")).devices || [];
    const gateNames = {};
    const gateSelect = $("approve-gate");
    gateSelect.replaceChildren(new Option("any gate", ""));
    if (state.eventId) {
      const gates = (await api("GET", "/v1/events/" + encodeURIComponent(state.eventId) + "/gates")).gates || [];
      for (const gate of gates) { gateNames[gate.id] = gate.name; gateSelect.appendChild(new Option(gate.name, gate.id)); }
    }
    fillTable($("devices"), [
      ["Name", (d) => d.name], ["Role", (d) => d.role], ["Status", (d) => statusBadge(d.status)],
      ["Code", (d) => (d.status === "pending" ? d.code : "")], ["Gate", (d) => gateNames[d.gate_id] || d.gate_id || ""],
      ["Last seen", (d) => time(d.last_seen_at)], ["Last push", (d) => time(d.last_push_at)],
      ["Seq", (d) => d.accepted_seq, true], ["Unsynced", (d) => d.unsynced_estimate, true],
      ["Clock skew", (d) => skew(d.clock_offset_ms), true], ["", (d) => revokeButton(d)],
    ], devices, "No devices yet.");
    const query = state.eventId ? "?event_id=" + encodeURIComponent(state.eventId) : "";
    const conflicts = (await api("GET", "/v1/conflicts" + query)).conflicts || [];
    const deviceNames = Object.fromEntries(devices.map((d) => [d.id, d.name]));
    fillTable($("conflicts"), [
      ["Kind", (c) => c.kind], ["Subject", (c) => c.subject],
      ["Devices", (c) => (c.devices || []).map((id) => deviceNames[id] || id).join(", ")],
      ["Raised", (c) => time(c.created_at)],
      ["Resolution", (c) => (c.resolved_at ? c.resolution : resolveButton(c))],
    ], conflicts, "No conflicts.");
    if (state.eventId) await loadAttendance(gateNames);
    $("refreshed").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    if (e.message !== "unauthorized") say(e.message, true);
  }
}

async function loadAttendance(gateNames) {
  const report = await api("GET", "/v1/events/" + encodeURIComponent(state.eventId) + "/reports/attendance");
  const totals = $("attendance-totals");
  totals.replaceChildren();
  for (const [label, value] of [["tickets", report.tickets], ["attended", report.attended], ["inside now", report.inside_now]]) {
    const div = document.createElement("div");
    const b = document.createElement("b");
    b.textContent = String(value);
    div.append(b, label);
    totals.appendChild(div);
  }
  fillTable($("per-gate"), [
    ["Gate", (g) => g.gate || gateNames[g.gate_id] || g.gate_id || "(no gate)"],
    ["Entries", (g) => g.entries, true], ["Exits", (g) => g.exits, true], ["Rejected", (g) => g.rejected, true],
  ], report.per_gate || [], "No scans yet.");
  fillTable($("per-sector"), [
    ["Sector", (s) => s.sector], ["Tickets", (s) => s.tickets, true], ["Attended", (s) => s.attended, true],
    ["%", (s) => (s.tickets ? ((100 * s.attended) / s.tickets).toFixed(1) : "0.0"), true],
  ], report.per_sector || [], "No tickets.");
  const buckets = report.over_time || [];
  const max = Math.max(0, ...buckets.map((b) => b.entries));
  fillTable($("over-time"), [
    ["From", (b) => time(b["from"])], ["Entries", (b) => b.entries, true], ["", (b) => bar(b.entries, max)], ["Exits", (b) => b.exits, true],
  ], buckets, "No entries yet.");
}

function show(loggedIn) {
  $("login-view").hidden = loggedIn;
  $("console-view").hidden = !loggedIn;
  $("logout").hidden = !loggedIn;
  $("who").textContent = loggedIn ? sessionStorage.getItem("fieldpass-email") || "" : "";
}

function logout(text) {
  state.token = null;
  sessionStorage.removeItem("fieldpass-token");
  show(false);
  say(text || "");
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = new FormData(ev.target);
    try {
      const data = await api("POST", "/v1/auth/login", { email: form.get("email"), password: form.get("password") });
      state.token = data.token;
      sessionStorage.setItem("fieldpass-token", data.token);
      sessionStorage.setItem("fieldpass-email", String(form.get("email")));
      show(true);
      say("");
      await refresh();
    } catch (e) { say(e.message, true); }
  });
  $("logout").addEventListener("click", () => logout("Logged out."));
  $("refresh").addEventListener("click", refresh);
  $("event-select").addEventListener("change", (ev) => { state.eventId = ev.target.value; refresh(); });
  $("approve-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = new FormData(ev.target);
    try {
      await api("POST", "/v1/devices/approve", { code: String(form.get("code")).trim(), event_id: state.eventId, gate_id: form.get("gate_id") || null });
      ev.target.reset();
      say("Device approved.");
      await refresh();
    } catch (e) { say(e.message, true); }
  });
  $("revoke-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = new FormData(ev.target);
    const path = "/v1/events/" + encodeURIComponent(state.eventId) + "/tickets/" + encodeURIComponent(String(form.get("barcode")).trim()) + "/revoke";
    try { await api("POST", path, { reason: form.get("reason") }); ev.target.reset(); say("Ticket revoked; gates learn it at their next pull."); await refresh(); }
    catch (e) { say(e.message, true); }
  });
  show(Boolean(state.token));
  if (state.token) refresh();
  setInterval(() => { if (state.token && !document.hidden) refresh(); }, 15000);
});
