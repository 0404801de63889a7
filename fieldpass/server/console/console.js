// The admin console: a thin page over the JSON admin API (/v1/...). The admin token lives
// in sessionStorage for this tab only; every value is written with textContent, never HTML.
"use strict";

const state = {
  token: sessionStorage.getItem("fieldpass-token"),
  view: sessionStorage.getItem("fieldpass-view") === "raffle-view" ? "raffle-view" : "event-view",
  events: [], eventId: null, devices: [], raffles: [],
  raffleId: sessionStorage.getItem("fieldpass-raffle"), raffle: null, report: null, lookup: null,
  deeplinks: {},
};
const $ = (id) => document.getElementById(id);

// A one-line status in the corner; good news fades after a while, errors stay until the next one.
function say(text, isError) {
  const message = $("message");
  message.textContent = text || "";
  message.className = isError ? "error" : "";
  if (text && !isError) setTimeout(() => { if (message.textContent === text) message.textContent = ""; }, 10000);
}

async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (state.token) headers["Authorization"] = "Bearer " + state.token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try { data = await resp.json(); } catch (e) { data = null; }
  if (resp.status === 401 && state.token) { logout("Your session has expired: log in again."); throw new Error("unauthorized"); }
  if (!resp.ok) {
    const error = new Error((data && data.message) || ("HTTP " + resp.status));
    error.status = resp.status;
    throw error;
  }
  return data;
}

// A file from the API (bearer token, so not a plain link), saved under ``filename``.
async function download(path, filename) {
  const resp = await fetch(path, { headers: { "Authorization": "Bearer " + state.token } });
  if (!resp.ok) {
    let data = null;
    try { data = await resp.json(); } catch (e) { data = null; }
    throw new Error((data && data.message) || ("HTTP " + resp.status));
  }
  saveBlob(await resp.blob(), filename);
}

function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
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
// Amounts are integer cents everywhere in the API.
function money(cents) {
  if (cents === null || cents === undefined) return "";
  const sign = cents < 0 ? "-" : "";
  const abs = Math.abs(cents);
  return sign + Math.floor(abs / 100) + "." + String(abs % 100).padStart(2, "0");
}
// A 20-digit validation number in groups of 4, as the receipt prints it.
const groups = (text) => (text ? String(text).replace(/(\d{4})(?=\d)/g, "$1-") : "");
const yesNo = (value) => (value ? "yes" : "no");
// An admin's user id as their e-mail when it is the one logged in here.
const who = (userId) => (userId && userId === sessionStorage.getItem("fieldpass-user") ? sessionStorage.getItem("fieldpass-email") : userId || "");

function statusBadge(status) {
  const span = document.createElement("span");
  span.textContent = String(status || "").replace(/_/g, " ");
  span.className = "status-" + status;
  return span;
}

function button(text, onClick, className) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  if (className) b.className = className;
  b.addEventListener("click", onClick);
  return b;
}

// Run an admin action: say what happened (``done``: text, or a function of the answer) or
// why not, then show the new state.
async function act(work, done) {
  try {
    const result = await work();
    say(typeof done === "function" ? done(result) : done);
    await refresh();
  } catch (e) { if (e.message !== "unauthorized") say(e.message, true); }
}

// Label/value pairs into a <dl>; empty values are left out.
function facts(dl, pairs) {
  dl.replaceChildren();
  for (const [label, value] of pairs) {
    if (value === null || value === undefined || value === "") continue;
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    if (value instanceof Node) dd.appendChild(value); else dd.textContent = String(value);
    dl.append(dt, dd);
  }
}

function figures(container, pairs) {
  container.replaceChildren();
  for (const [label, value] of pairs) {
    const div = document.createElement("div");
    const b = document.createElement("b");
    b.textContent = value === null || value === undefined ? "—" : String(value);
    div.append(b, label);
    container.appendChild(div);
  }
}

function revokeButton(device) {
  if (device.status !== "approved") return "";
  return button("Revoke", () => {
    if (!confirm("Revoke device " + device.name + "? It will no longer sync.")) return;
    act(() => api("POST", "/v1/devices/" + encodeURIComponent(device.id) + "/revoke"), "Device revoked.");
  });
}

function resolveButton(conflict) {
  return button("Resolve", () => {
    const resolution = prompt("How was " + conflict.kind + " of " + conflict.subject + " settled?");
    if (!resolution) return;
    act(() => api("POST", "/v1/conflicts/" + conflict.id + "/resolve", { resolution }), "Conflict resolved.");
  });
}

// A PIN redeemed at two kiosks: settle it by refunding one of the two sales.
function refundButtons(conflict) {
  const span = document.createElement("span");
  span.className = "buttons";
  for (const saleId of conflict.sales || []) {
    span.appendChild(button("Refund sale " + saleId, () => {
      const resolution = prompt("Refund sale " + saleId + " of PIN " + conflict.pin + ": note for the record?", "refunded sale " + saleId);
      if (!resolution) return;
      act(() => api("POST", "/v1/conflicts/" + conflict.conflict_id + "/resolve", { resolution, refund_sale_id: saleId }),
        "Sale " + saleId + " refunded; its tickets are revoked at the gates.");
    }));
  }
  return span;
}

function conflictTable(table, conflicts) {
  const deviceNames = Object.fromEntries(state.devices.map((d) => [d.id, d.name]));
  fillTable(table, [
    ["Kind", (c) => c.kind], ["Subject", (c) => c.subject],
    ["Devices", (c) => (c.devices || []).map((id) => deviceNames[id] || id).join(", ")],
    ["Raised", (c) => time(c.created_at)],
    ["Resolution", (c) => (c.resolved_at ? c.resolution : resolveButton(c))],
  ], conflicts, "No conflicts.");
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

async function loadRaffles() {
  state.raffles = (await api("GET", "/v1/raffles")).raffles || [];
  if (!state.raffles.some((r) => r.id === state.raffleId)) state.raffleId = state.raffles.length ? state.raffles[0].id : null;
  if (state.raffleId) sessionStorage.setItem("fieldpass-raffle", state.raffleId);
}

const OPEN_RAFFLE = (r) => r.state !== "completed" && r.state !== "cancelled";

// Approve a pending device: a gate or petrol kiosk for the selected event (optionally at a
// gate), or an RSU for a raffle. The value says which: "event:", "gate:ID" or "raffle:ID".
function fillApproveTargets(gates) {
  const select = $("approve-target");
  const before = select.value;
  select.replaceChildren();
  const event = state.events.find((ev) => ev.id === state.eventId);
  if (event) {
    const group = document.createElement("optgroup");
    group.label = "Gate or petrol kiosk for " + event.name;
    group.appendChild(new Option("this event, any gate", "event:"));
    for (const gate of gates) group.appendChild(new Option("this event, gate " + gate.name, "gate:" + gate.id));
    select.appendChild(group);
  }
  const open = state.raffles.filter(OPEN_RAFFLE);
  if (open.length) {
    const group = document.createElement("optgroup");
    group.label = "RSU for a raffle";
    for (const raffle of open) group.appendChild(new Option("RSU for raffle " + raffle.name, "raffle:" + raffle.id));
    select.appendChild(group);
  }
  if ([...select.options].some((o) => o.value === before)) select.value = before;
}

// The first 16 hex digits of a key fingerprint, grouped as the devices show them.
function shortKey(fingerprint) {
  if (!fingerprint) return "";
  const hex = fingerprint.replace("sha256:", "").slice(0, 16);
  return "sha256:" + hex.match(/.{4}/g).join(" ");
}

function approveBody(code, target) {
  const [kind, id] = [target.slice(0, target.indexOf(":")), target.slice(target.indexOf(":") + 1)];
  if (kind === "raffle") return { code, raffle_id: id };
  if (!state.eventId) throw new Error("Create an event first: there is no event to approve the device for.");
  return { code, event_id: state.eventId, gate_id: kind === "gate" ? id : null };
}

async function refresh() {
  try {
    await Promise.all([loadEvents(), loadRaffles()]);
    const devices = (await api("GET", "/v1/devices")).devices || [];
    state.devices = devices;
    const gateNames = {};
    let gates = [];
    if (state.eventId) {
      gates = (await api("GET", "/v1/events/" + encodeURIComponent(state.eventId) + "/gates")).gates || [];
      for (const gate of gates) gateNames[gate.id] = gate.name;
    }
    fillApproveTargets(gates);
    const raffleNames = Object.fromEntries(state.raffles.map((r) => [r.id, r.name]));
    fillTable($("devices"), [
      ["Name", (d) => d.name], ["Role", (d) => d.role], ["Status", (d) => statusBadge(d.status)],
      ["Key", (d) => shortKey(d.key_fingerprint)],
      ["Gate / raffle", (d) => (d.raffle_id ? "raffle " + (raffleNames[d.raffle_id] || d.raffle_id) : gateNames[d.gate_id] || d.gate_id || "")],
      ["Last seen", (d) => time(d.last_seen_at)], ["Last push", (d) => time(d.last_push_at)],
      ["Seq", (d) => d.accepted_seq, true], ["Unsynced", (d) => d.unsynced_estimate, true],
      ["Clock skew", (d) => skew(d.clock_offset_ms), true], ["", (d) => revokeButton(d)],
    ], devices, "No devices yet.");
    if (state.view === "event-view") await loadEventView(gateNames);
    else await loadRaffleView();
    $("refreshed").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    if (e.message !== "unauthorized") say(e.message, true);
  }
}

async function loadEventView(gateNames) {
  const query = state.eventId ? "?event_id=" + encodeURIComponent(state.eventId) : "";
  conflictTable($("conflicts"), (await api("GET", "/v1/conflicts" + query)).conflicts || []);
  const deviceNames = Object.fromEntries(state.devices.map((d) => [d.id, d.name]));
  if (!state.eventId) { $("petrol-section").hidden = true; return; }
  await loadAttendance(gateNames);
  await loadPetrol(deviceNames);
}

async function loadAttendance(gateNames) {
  const report = await api("GET", "/v1/events/" + encodeURIComponent(state.eventId) + "/reports/attendance");
  figures($("attendance-totals"), [["tickets", report.tickets], ["attended", report.attended], ["inside now", report.inside_now]]);
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

// The petrol report of the event; a server without it (404) shows no petrol section.
async function loadPetrol(deviceNames) {
  const eventPath = "/v1/events/" + encodeURIComponent(state.eventId);
  let report;
  try { report = await api("GET", eventPath + "/reports/petrol"); }
  catch (e) {
    if (e.status === 404) { $("petrol-section").hidden = true; return; }
    throw e;
  }
  $("petrol-section").hidden = false;
  const total = report.total || {};
  figures($("petrol-totals"), [
    ["sales", total.sales], ["tickets", total.tickets], ["amount", money(total.amount_cents)],
    ["cash to collect", money(report.cash_to_collect_cents)], ["reprints", report.reprints],
  ]);
  fillTable($("petrol-per-kiosk"), [
    ["Kiosk", (k) => k.name || k.device_id], ["Sales", (k) => k.sales, true], ["Tickets", (k) => k.tickets, true],
    ["Amount", (k) => money(k.amount_cents), true], ["Cash", (k) => money(k.cash_cents), true],
    ["Card", (k) => money(k.card_cents), true], ["Refunded", (k) => (k.refunded ? k.refunded + " (" + money(k.refunded_cents) + ")" : "0"), true],
    ["Reprints", (k) => k.reprints, true], ["Cash to collect", (k) => money(k.cash_to_collect_cents), true],
  ], report.per_kiosk || [], "No petrol kiosks for this event.");
  fillTable($("petrol-per-method"), [
    ["Method", (m) => m.method], ["Sales", (m) => m.sales, true], ["Tickets", (m) => m.tickets, true],
    ["Amount", (m) => money(m.amount_cents), true],
  ], report.per_method || [], "No sales.");
  fillTable($("petrol-conflicts"), [
    ["PIN", (c) => c.pin], ["Kiosks", (c) => (c.devices || []).map((id) => deviceNames[id] || id).join(", ")],
    ["Sales", (c) => (c.sales || []).join(", ")], ["Raised", (c) => time(c.created_at)], ["Settle", (c) => refundButtons(c)],
  ], report.open_double_redemptions || [], "None.");
  await loadDeeplink(eventPath);
}

// The deeplink is made on first request and stable afterwards: fetched once per event.
async function loadDeeplink(eventPath) {
  let link = state.deeplinks[state.eventId];
  if (!link) {
    try { link = await api("GET", eventPath + "/petrol-deeplink"); }
    catch (e) { if (e.message === "unauthorized") throw e; link = { error: e.message }; }
    state.deeplinks[state.eventId] = link;
  }
  $("petrol-deeplink").textContent = link.error ? "not available: " + link.error : link.qr_payload || link.url || "";
  $("petrol-deeplink-copy").hidden = Boolean(link.error) || !navigator.clipboard;
}

// -- raffles -------------------------------------------------------------------------------

const CANCELLABLE = ["created", "configured", "active", "sales_closed", "reconciling", "reconciled", "drawing_ready", "suspended"];
const RECONCILIATION_STATES = ["sales_closed", "reconciling", "reconciled", "drawing_ready", "completed"];
const sold = (counts) => (counts ? (counts.sold || 0) + (counts.winner || 0) + (counts.claimed || 0) : 0);
const raffleBase = () => "/v1/raffles/" + encodeURIComponent(state.raffleId);

function raffleLink(raffle) {
  const link = button(raffle.name, () => {
    state.raffleId = raffle.id;
    sessionStorage.setItem("fieldpass-raffle", raffle.id);
    clearRaffleExtras();
    refresh();
  }, "link");
  if (raffle.id === state.raffleId) link.setAttribute("aria-current", "true");
  return link;
}

function clearRaffleExtras() {
  state.report = null;
  $("report-table").replaceChildren();
  $("report-summary").replaceChildren();
  $("report-csv").hidden = true;
  $("transition-reason").value = "";
}

async function loadRaffleView() {
  fillTable($("raffles"), [
    ["Raffle", (r) => raffleLink(r)], ["State", (r) => statusBadge(r.state)],
    ["Sold", (r) => sold(r.counts), true], ["Max", (r) => r.max_tickets, true],
  ], state.raffles, "No raffles yet (fieldpass admin raffle create).");
  $("raffle-detail").hidden = !state.raffleId;
  if (!state.raffleId) return;
  const base = raffleBase();
  const [raffle, allocations, conflicts] = await Promise.all([
    api("GET", base), api("GET", base + "/allocations"), api("GET", "/v1/conflicts?event_id=" + encodeURIComponent(state.raffleId)),
  ]);
  conflictTable($("raffle-conflicts"), conflicts.conflicts || []);
  state.raffle = raffle;
  // Viewing the reconciliation of a sales_closed raffle starts reconciling it: that waits for the button.
  const reconciliation = raffle.state === "sales_closed" ? null : await api("GET", base + "/reconciliation");
  showRaffle(raffle, reconciliation);
  showAllocations(raffle, allocations.allocations || []);
  showReconciliation(raffle, reconciliation);
  await showDraw(raffle);
}

function showRaffle(raffle, reconciliation) {
  $("raffle-name").textContent = raffle.name;
  $("raffle-state").replaceChildren(statusBadge(raffle.state));
  const note = raffle.state === "suspended" ? "Suspended (from " + raffle.suspended_from_state + "): " + (raffle.suspension_reason || "")
    : raffle.state === "cancelled" ? "Cancelled: " + (raffle.cancellation_reason || "") : "";
  $("raffle-note").textContent = note;
  const counts = raffle.counts || {};
  const totals = reconciliation ? reconciliation.totals : null;
  figures($("raffle-figures"), [
    ["max tickets", raffle.max_tickets], ["sold", sold(counts)], ["voided", counts.voided || 0],
    ["unsold allocated", counts.allocated || 0], ["available", counts.available || 0],
    ["orders", totals ? totals.orders : null], ["revenue", totals ? money(totals.revenue_cents) : null],
  ]);
  const commitment = document.createElement("code");
  commitment.textContent = raffle.seed_commitment || "";
  facts($("raffle-facts"), [
    ["Organization", raffle.organization_name], ["Licence", raffle.licence_number],
    ["Sales", (raffle.sales_start || raffle.sales_end) ? time(raffle.sales_start) + " – " + time(raffle.sales_end) : ""],
    ["Draw time", time(raffle.draw_time)], ["Claim deadline", time(raffle.claim_deadline)],
    ["Jackpot seed", raffle.jackpot_seed_cents ? money(raffle.jackpot_seed_cents) : ""],
    ["Seed commitment", raffle.seed_commitment ? commitment : "not committed yet"],
    ["Committed at", time(raffle.committed_at)],
  ]);
  const allowed = {
    "configure": raffle.state === "created",
    "activate": raffle.state === "configured",
    "commit-seed": (raffle.state === "configured" || raffle.state === "active") && !raffle.seed_commitment,
    "close": raffle.state === "active" && Boolean(raffle.seed_commitment),
    "resume": raffle.state === "suspended",
    "suspend": raffle.state === "active",
    "cancel": CANCELLABLE.includes(raffle.state),
  };
  for (const b of $("raffle-actions").querySelectorAll("button[data-action]")) b.hidden = !allowed[b.dataset.action];
  $("reason-actions").hidden = !allowed.suspend && !allowed.cancel;
  fillTable($("raffle-packages"), [
    ["Package", (p) => p.name], ["Tickets", (p) => p.ticket_count, true], ["Price", (p) => money(p.price_cents), true],
    ["Active", (p) => yesNo(p.is_active)],
  ], raffle.packages || [], "No packages (fieldpass admin raffle package add).");
  fillTable($("raffle-prizes"), [
    ["#", (p) => p.position, true], ["Prize", (p) => p.name],
    ["Value", (p) => (p.prize_type === "percentage" ? p.percentage + " % of revenue" : money(p.value_cents)), true],
    ["Winners", (p) => p.winner_count, true],
  ], raffle.prizes || [], "No prizes (fieldpass admin raffle prize add).");
}

async function transition(action) {
  const name = state.raffle ? state.raffle.name : "";
  const body = {};
  if (action === "suspend" || action === "cancel") {
    const reason = $("transition-reason").value.trim();
    if (!reason) { say("Give a reason to " + action + " the raffle.", true); $("transition-reason").focus(); return; }
    body.reason = reason;
  }
  if (action === "cancel" && !confirm("Cancel raffle " + name + "? This cannot be undone.")) return;
  if (action === "close" && !confirm("Close sales of " + name + "? RSUs stop selling at their next pull.")) return;
  const done = {
    "configure": (r) => "Configured: " + r.tickets + " tickets generated.",
    "commit-seed": (r) => "Seed committed; commitment " + r.commitment + ".",
    "activate": () => "Raffle " + name + " is active: RSUs can sell.",
    "close": () => "Sales of " + name + " closed.",
    "suspend": () => "Raffle " + name + " suspended.",
    "resume": (r) => "Raffle " + name + " resumed (" + r.state + ").",
    "cancel": () => "Raffle " + name + " cancelled.",
  }[action];
  await act(async () => {
    const result = await api("POST", raffleBase() + "/" + action, body.reason ? body : undefined);
    $("transition-reason").value = "";
    return result;
  }, done);
}

function showAllocations(raffle, allocations) {
  const changeable = ["configured", "active", "suspended"].includes(raffle.state);
  fillTable($("raffle-allocations"), [
    ["RSU", (a) => a.device_name || a.device_id], ["From", (a) => a.start_number, true], ["To", (a) => a.end_number, true],
    ["Size", (a) => a.size, true], ["Sold", (a) => a.sold, true], ["Voided", (a) => a.voided, true], ["Unsold", (a) => a.unsold, true],
    ["Active", (a) => (a.is_active ? "yes" : "returned " + time(a.deallocated_at))], ["Allocated", (a) => time(a.allocated_at)],
    ["", (a) => (a.is_active && changeable ? button("Deallocate", () => {
      if (!confirm("Return the unsold numbers of " + a.start_number + "–" + a.end_number + " from " + (a.device_name || a.device_id) + "?")) return;
      act(() => api("POST", raffleBase() + "/allocations/" + encodeURIComponent(a.id) + "/deallocate"),
        (r) => r.returned + " unsold numbers returned.");
    }) : "")],
  ], allocations, "No numbers allocated yet.");
  $("approve-rsu-form").hidden = !["created", "configured", "active", "suspended"].includes(raffle.state);
  const rsus = state.devices.filter((d) => d.role === "rsu" && d.status === "approved" && d.raffle_id === raffle.id);
  const form = $("allocate-form");
  form.hidden = !["configured", "active"].includes(raffle.state);
  const select = $("allocate-device");
  const before = select.value;
  select.replaceChildren();
  if (!rsus.length) select.appendChild(new Option("no approved RSU in this raffle", ""));
  for (const d of rsus) select.appendChild(new Option(d.name, d.id));
  if (rsus.some((d) => d.id === before)) select.value = before;
  const next = Math.max(0, ...allocations.filter((a) => a.is_active).map((a) => a.end_number)) + 1;
  form.elements.start.placeholder = "from (e.g. " + next + ")";
  form.elements.end.placeholder = "to (max " + raffle.max_tickets + ")";
}

function showReconciliation(raffle, reconciliation) {
  const section = $("reconciliation-section");
  section.hidden = !RECONCILIATION_STATES.includes(raffle.state);
  $("reconcile-start").hidden = raffle.state !== "sales_closed";
  const rsus = reconciliation ? reconciliation.rsus || [] : [];
  fillTable($("reconciliation"), [
    ["RSU", (v) => v.name + (v.terminal_number !== null && v.terminal_number !== undefined ? " #" + v.terminal_number : "")],
    ["Allocated", (v) => v.allocated, true], ["Sold", (v) => v.sold, true], ["Voided", (v) => v.voided, true],
    ["Unsold", (v) => v.unsold, true], ["Orders", (v) => v.orders, true],
    ["Cash", (v) => money(v.cash_cents), true], ["Card", (v) => money(v.card_cents), true],
    ["Last seq", (v) => v.accepted_seq, true], ["Close seq", (v) => v.close_seq, true],
    ["Closed", (v) => (v.closed ? "yes " + time(v.closed_at) : "no")],
    ["Blocks confirmation", (v) => (v.blockers && v.blockers.length ? v.blockers.join("; ") : "nothing")],
  ], rsus, reconciliation ? "No RSU took part." : "Press “Start reconciliation” to see what each RSU did.");
  const status = [];
  if (reconciliation) {
    const t = reconciliation.totals || {};
    status.push("Total: " + t.sold + " sold, " + t.voided + " voided, " + t.unsold + " unsold; cash " + money(t.cash_cents)
      + ", card " + money(t.card_cents) + ", revenue " + money(t.revenue_cents) + ".");
    if (reconciliation.confirmed_at) {
      status.push("Confirmed " + time(reconciliation.confirmed_at) + " by " + (who(reconciliation.confirmed_by) || "?")
        + (reconciliation.override_reason ? " with override: " + reconciliation.override_reason : "") + ".");
    } else if ((reconciliation.blocking || []).length) {
      status.push((reconciliation.blocking || []).length + " RSU(s) block confirmation; confirming anyway needs an override reason.");
    }
  }
  $("reconciliation-status").textContent = status.join(" ");
  const blocked = reconciliation ? (reconciliation.blocking || []).length > 0 : false;
  $("confirm-form").hidden = !(reconciliation && raffle.state === "reconciling");
  $("override-reason").hidden = !blocked;
  $("override-reason").placeholder = "override reason (required: " + (reconciliation ? (reconciliation.blocking || []).length : 0) + " RSU(s) block)";
  $("override-reason").required = blocked;
}

async function showDraw(raffle) {
  const drawable = raffle.state === "reconciled" || raffle.state === "drawing_ready";
  $("draw-section").hidden = !drawable && raffle.state !== "completed";
  $("draw-form").hidden = !drawable;
  $("draw-export").hidden = raffle.state !== "completed";
  if (raffle.state !== "completed") {
    $("draw-facts").replaceChildren();
    $("draw-winners").replaceChildren();
    return;
  }
  const draw = await api("GET", raffleBase() + "/draw");
  const code = (text) => { const c = document.createElement("code"); c.textContent = text || ""; return c; };
  facts($("draw-facts"), [
    ["Drawn at", time(draw.drawn_at)], ["Conducted by", who(draw.conducted_by)], ["Commitment", code(draw.commitment)], ["Seed", code(draw.seed)],
    ["Beacon", draw.beacon || "(none)"], ["Sold numbers", draw.sold_count], ["Revenue", money(draw.revenue_cents)],
    ["Checksum", code(draw.checksum)],
  ]);
  fillTable($("draw-winners"), [
    ["Pick", (w) => w.pick + 1, true], ["#", (w) => w.position, true], ["Prize", (w) => w.prize_name],
    ["Value", (w) => money(w.prize_value_cents), true], ["Draw number", (w) => w.draw_number, true],
    ["Validation number", (w) => (w.validation_number ? button(groups(w.validation_number), () => lookup(w.validation_number), "link") : "")],
    ["Claim", (w) => statusBadge(w.claim_status)], ["Claimed", (w) => time(w.claimed_at) + (w.claimed_by ? " by " + who(w.claimed_by) : "")],
  ], draw.winners || [], "No winners (nothing was sold).");
}

// -- lookup and claim by validation number ----------------------------------------------------

async function lookup(validation) {
  $("lookup-form").elements.validation.value = groups(validation);
  try { showOrder(await api("POST", "/v1/raffle-orders/lookup", { validation_number: validation })); say(""); }
  catch (e) { $("lookup-result").hidden = true; if (e.message !== "unauthorized") say(e.message, true); }
}

function showOrder(order) {
  state.lookup = order;
  $("lookup-result").hidden = false;
  facts($("lookup-order"), [
    ["Validation number", order.validation_number_formatted || groups(order.validation_number)],
    ["Raffle", order.raffle_name + " (" + order.raffle_state + ")"], ["Package", order.package],
    ["Tickets", order.ticket_count], ["Amount", money(order.total_amount_cents)],
    ["Payment", order.payment_status + (order.payment_method ? ", " + order.payment_method : "")],
    ["Sold", time(order.sold_at) + (order.rsu_name ? " by " + order.rsu_name : "") + (order.source ? " (" + order.source + ")" : "")],
    ["Voided", order.voided_at ? time(order.voided_at) + ": " + (order.void_reason || "") : ""],
    ["Reprints", order.reprint_count || ""], ["Claim by", time(order.claim_deadline)],
    ["Reported, not applied", (order.not_applied || []).join(", ")],
  ]);
  fillTable($("lookup-tickets"), [
    ["Draw number", (t) => t.draw_number, true], ["State", (t) => statusBadge(t.state)],
  ], order.tickets || [], "No tickets.");
  const prizes = order.prizes || [];
  fillTable($("lookup-prizes"), [
    ["#", (p) => p.position, true], ["Prize", (p) => p.prize_name], ["Value", (p) => money(p.prize_value_cents), true],
    ["Draw number", (p) => p.draw_number, true], ["Claim", (p) => statusBadge(p.claim_status)], ["Claimed", (p) => time(p.claimed_at)],
  ], prizes, order.raffle_state === "completed" ? "This order won nothing." : "Not drawn yet.");
  $("lookup-claim").hidden = !(order.raffle_state === "completed" && prizes.some((p) => p.claim_status === "unclaimed"));
}

// -- reports ------------------------------------------------------------------------------------

function showReport(report) {
  state.report = report;
  const summary = report.summary || {};
  facts($("report-summary"), Object.entries(summary).map(([k, v]) => [k, typeof v === "object" && v !== null ? JSON.stringify(v) : v]));
  const shown = (value) => (typeof value === "object" && value !== null ? JSON.stringify(value) : value);
  const columns = (report.columns || []).map((name, i) => [name, (row) => shown(row[i]), typeof (report.rows[0] || [])[i] === "number"]);
  fillTable($("report-table"), columns, report.rows || [], "Nothing to report.");
  $("report-csv").hidden = false;
}

// RFC 4180 quoting; a text cell starting with = + - @ is prefixed with ' so a spreadsheet
// never runs it as a formula.
function csvCell(value) {
  if (value === null || value === undefined) return "";
  let text = typeof value === "object" ? JSON.stringify(value) : String(value);
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = "'" + text;
  return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
}

function reportCsv(report) {
  const lines = [report.columns.map(csvCell).join(",")];
  for (const row of report.rows) lines.push(row.map(csvCell).join(","));
  return lines.join("\r\n") + "\r\n";
}

// -- page ---------------------------------------------------------------------------------------

function showView(view) {
  state.view = view;
  sessionStorage.setItem("fieldpass-view", view);
  for (const b of $("tabs").querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset.view === view));
  $("event-view").hidden = view !== "event-view";
  $("raffle-view").hidden = view !== "raffle-view";
  $("event-picker").hidden = view !== "event-view";
}

function show(loggedIn) {
  $("login-view").hidden = loggedIn;
  $("console-view").hidden = !loggedIn;
  $("logout").hidden = !loggedIn;
  $("tabs").hidden = !loggedIn;
  $("who").textContent = loggedIn ? sessionStorage.getItem("fieldpass-email") || "" : "";
  if (loggedIn) showView(state.view);
}

function logout(text) {
  state.token = null;
  sessionStorage.removeItem("fieldpass-token");
  show(false);
  say(text || "");
}

function onSubmit(id, handler) {
  $(id).addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try { await handler(new FormData(ev.target), ev.target); }
    catch (e) { if (e.message !== "unauthorized") say(e.message, true); }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  onSubmit("login-form", async (form) => {
    const data = await api("POST", "/v1/auth/login", { email: form.get("email"), password: form.get("password") });
    state.token = data.token;
    sessionStorage.setItem("fieldpass-token", data.token);
    sessionStorage.setItem("fieldpass-email", String(form.get("email")));
    sessionStorage.setItem("fieldpass-user", (data.user && data.user.id) || "");
    show(true);
    say("");
    await refresh();
  });
  $("logout").addEventListener("click", () => logout("Logged out."));
  $("refresh").addEventListener("click", refresh);
  for (const b of $("tabs").querySelectorAll("button")) b.addEventListener("click", () => { showView(b.dataset.view); refresh(); });
  $("event-select").addEventListener("change", (ev) => { state.eventId = ev.target.value; refresh(); });
  onSubmit("approve-form", async (form, target) => {
    const body = approveBody(String(form.get("code")).trim(), String(form.get("target") || "event:"));
    const device = await api("POST", "/v1/devices/approve", body);
    target.elements.code.value = "";
    say("Device " + device.name + " approved" + (body.raffle_id ? " as an RSU" : "") + "; its key is " + device.key_fingerprint + ": the device shows the same.");
    await refresh();
  });
  onSubmit("approve-rsu-form", async (form, target) => {
    const device = await api("POST", "/v1/devices/approve", { code: String(form.get("code")).trim(), raffle_id: state.raffleId });
    target.reset();
    say("Device " + device.name + " approved as an RSU of this raffle; its key is " + device.key_fingerprint + ".");
    await refresh();
  });
  onSubmit("revoke-form", async (form, target) => {
    const path = "/v1/events/" + encodeURIComponent(state.eventId) + "/tickets/" + encodeURIComponent(String(form.get("barcode")).trim()) + "/revoke";
    await api("POST", path, { reason: form.get("reason") });
    target.reset();
    say("Ticket revoked; gates learn it at their next pull.");
    await refresh();
  });
  $("petrol-deeplink-copy").addEventListener("click", async () => {
    try { await navigator.clipboard.writeText($("petrol-deeplink").textContent); say("Deeplink copied."); }
    catch (e) { say("Copy failed: " + e.message, true); }
  });
  for (const b of $("raffle-actions").querySelectorAll("button[data-action]")) b.addEventListener("click", () => transition(b.dataset.action));
  onSubmit("allocate-form", async (form, target) => {
    if (!form.get("device_id")) throw new Error("Approve an RSU for this raffle first.");
    const body = { device_id: String(form.get("device_id")), start: Number(form.get("start")), end: Number(form.get("end")) };
    await api("POST", raffleBase() + "/allocations", body);
    target.elements.start.value = "";
    target.elements.end.value = "";
    say("Numbers " + body.start + "–" + body.end + " allocated.");
    await refresh();
  });
  $("reconcile-start").addEventListener("click", () => act(() => api("GET", raffleBase() + "/reconciliation"), "Reconciliation started."));
  onSubmit("confirm-form", async (form, target) => {
    const reason = String(form.get("override_reason") || "").trim();
    const body = reason && !$("override-reason").hidden ? { override_reason: reason } : {};
    await api("POST", raffleBase() + "/confirm", body);
    target.reset();
    say(body.override_reason ? "Reconciliation confirmed with an override." : "Reconciliation confirmed.");
    await refresh();
  });
  onSubmit("draw-form", async (form, target) => {
    const beacon = String(form.get("beacon") || "").trim();
    if (!confirm("Run the draw of " + state.raffle.name + " now? It cannot be repeated.")) return;
    const draw = await api("POST", raffleBase() + "/draw", beacon ? { beacon } : {});
    target.reset();
    say("Drawn: " + (draw.winners || []).length + " winner(s), checksum " + draw.checksum + ".");
    await refresh();
  });
  $("draw-export").addEventListener("click", async () => {
    try { await download(raffleBase() + "/draw/export", "draw-" + state.raffleId + ".json"); }
    catch (e) { say(e.message, true); }
  });
  onSubmit("lookup-form", async (form) => { await lookup(String(form.get("validation")).trim()); });
  $("lookup-claim").addEventListener("click", async () => {
    const order = state.lookup;
    if (!order || !confirm("Pay out the prize(s) of " + order.validation_number_formatted + "?")) return;
    try {
      const result = await api("POST", "/v1/raffle-orders/claim", { validation_number: order.validation_number });
      showOrder(result);
      const value = (result.claimed || []).reduce((sum, p) => sum + p.prize_value_cents, 0);
      say("Claimed " + (result.claimed || []).length + " prize(s) worth " + money(value) + ".");
      await refresh();
    } catch (e) { if (e.message !== "unauthorized") say(e.message, true); }
  });
  onSubmit("report-form", async (form) => {
    showReport(await api("GET", raffleBase() + "/reports/" + encodeURIComponent(String(form.get("kind")))));
    say("");
  });
  $("report-csv").addEventListener("click", () => {
    const report = state.report;
    if (!report) return;
    saveBlob(new Blob([reportCsv(report)], { type: "text/csv" }), report.kind + "-" + report.raffle_id + ".csv");
  });
  show(Boolean(state.token));
  if (state.token) refresh();
  setInterval(() => { if (state.token && !document.hidden) refresh(); }, 15000);
});
