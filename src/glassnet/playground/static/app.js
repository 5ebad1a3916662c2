// The glassnet playground page. It sends what the learner changes to the engine and draws
// what the engine sends back; every number it shows was computed by glassnet in Python, on
// the local server or in this browser's Web Worker (transport.js: the page does not know which).
import { openTransport } from "./transport.js";
import {
  CLASS_COLORS, NEG, POS, PROB_DISCRETE_LUT, PROB_LUT, SERIES, TILE_LUT, VALUE_LUT,
  decode, diverging, fit, formatNumber, invalidateSizes, landscapeImage, lighten, lineChart, niceTicks, paintBytes, rgb, smooth,
} from "./draw.js";

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k === "style") node.style.cssText = v;  // CSSOM: allowed by the page's CSP
    else node.setAttribute(k, v);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
};

const LEARNING_RATES = [0.00001, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const L2_RATES = [0, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3];
const BATCHES = [0, 1, 2, 5, 10, 16, 32, 64, 128, 256];
const OPT_LABELS = {
  sgd: "SGD", momentum: "Momentum", nesterov: "Nesterov", rmsprop: "RMSProp", adam: "Adam", adamw: "AdamW",
};
const SCHED_LABELS = {
  constant: "Constant", exponential: "Exponential", step: "Step decay", cosine: "Cosine",
  invscaling: "1/√t", plateau: "On plateau",
};
const SCHED_HELP = {
  constant: "lr stays at its value", exponential: "lr = lr0 · 0.99^epoch", step: "lr halves every 100 epochs",
  cosine: "lr follows half a cosine down over 500 epochs", invscaling: "lr = lr0 / √(epoch + 1)",
  plateau: "lr halves after 20 epochs without improvement",
};
const ACT_LABELS = { tanh: "Tanh", relu: "ReLU", leaky_relu: "Leaky ReLU", sigmoid: "Sigmoid", identity: "Linear" };
// short enough for the control bar; the select's tooltip gives the rule
const INIT_LABELS = {
  glorot_uniform: ["Glorot U", "Glorot uniform: W ~ U(−r, r), r = √(6/(fan_in + fan_out))"],
  glorot_normal: ["Glorot N", "Glorot normal: W ~ N(0, 2/(fan_in + fan_out))"],
  he_normal: ["He N", "He normal: W ~ N(0, 2/fan_in)"],
  he_uniform: ["He U", "He uniform: W ~ U(−r, r), r = √(6/fan_in)"],
  scaled_normal: ["randn/√n", "The first tutorial's randn/√fan_in: W ~ N(0, 1/fan_in)"],
  zeros: ["Zeros", "W = 0: every unit of a layer computes the same and gets the same gradient, so the units stay equal (symmetry): a lesson, not a choice"],
};
const MAX_EPOCHS = [0, 50, 100, 200, 500, 1000, 2000, 5000];
const TARGET_LOSSES = [0, 0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01, 0.001];
const PROBLEM_LABELS = { classification: "Classification", regression: "Regression" };
const SCALE_LABELS = { standard: "Standardise (z-score)", minmax: "Min-max to [0, 1]", none: "None" };
const MISSING_LABELS = { error: "Stop with an error", drop: "Drop those rows", median: "Fill with the median" };
const LOSS_LABELS = {
  binary_cross_entropy: "binary cross-entropy", categorical_cross_entropy: "categorical cross-entropy",
  mse: "mean squared error",
};
const MAX_SERIES = 1500;

const S = {
  transport: null, schema: null, thumbnails: null, session: null,
  scene: null, frame: null, config: null, playing: false,
  curves: null, grads: null, layout: null, hover: null,
  uploads: {}, pending: null, received: 0, drawScheduled: false,
  stats: { frames: 0, received: 0, bytes: 0, drawMs: 0 }, inspect: null,
};

// -- connection ------------------------------------------------------------------------
function connect() {
  const transport = openTransport();
  S.transport = transport;
  transport.onmessage = (message, bytes) => {
    S.stats.bytes += bytes;
    const handler = HANDLERS[message.type];
    if (handler) handler(message);
  };
  transport.onstatus = (text, fraction) => {
    const box = $("loading");
    if (!box) return;
    box.hidden = !text;
    box.textContent = text + (fraction === null || fraction === undefined || !text ? "" : ` (${Math.round(100 * fraction)}%)`);
  };
  transport.onclose = (text) => {
    S.playing = false;
    renderPlaying();
    showError(text);
  };
  transport.connect({ type: "hello", query: location.hash.slice(1) });
}

function send(message, clear = true) {
  if (clear && message.type !== "ack") showError("");
  if (S.transport) S.transport.send(message);
}
const set = (changes) => { writeChangesToUrl(changes); send({ type: "set", changes }); };

const HANDLERS = {
  hello(m) {
    S.schema = m.schema; S.thumbnails = m.thumbnails; S.session = m.session;
    $("version").textContent = `glassnet ${m.version}` + (m.runtime ? ` · ${m.runtime}` : "");
    buildStaticControls();
    setExportLinks();
  },
  scene(m) {
    S.scene = m; S.config = m.config; S.sceneId = (S.sceneId || 0) + 1;
    if (m.config.data === "csv") S.pendingUpload = null;
    S.curves = { x: [], train: [], test: [] };
    S.grads = { x: [], norms: [] };
    S.curvature = { x: [], value: [], threshold: [], count: 0 };
    S.query = m.query;
    S.link = null;
    closeEditor();
    S.landscapeShown = false;
    writeUrl(m.query);
    renderControls();
    buildNetwork();
    renderLegend();
    clearLandscape();
    if (S.inspect) { S.inspect = null; renderInspectorEmpty(); }
  },
  config(m) { S.config = m.config; S.query = m.query; writeUrl(m.query); renderControls(); },
  frame(m) {
    S.stats.received++;
    ingest(m);
    S.pending = m;
    S.received++;
    if (!S.drawScheduled) { S.drawScheduled = true; requestAnimationFrame(drawPending); }
  },
  state(m) { S.playing = m.playing; renderPlaying(); },
  error(m) {
    showError(m.message);
    if (S.query) writeUrl(S.query);  // a refused change leaves the link at the setup in use
    if (S.scene) renderControls();
  },
  inspect(m) { S.inspect = m; renderInspector(m); },
  landscape(m) { S.landscape = m; renderLandscape(m); },
};

function drawPending() {
  S.drawScheduled = false;
  const frame = S.pending;
  if (!frame) return;
  S.pending = null;
  const started = performance.now();
  drawFrame(frame);
  S.stats.drawMs += performance.now() - started;
  S.stats.frames++;
  const frames = S.received;
  S.received = 0;
  send({ type: "ack", frames }, false);
}

/** Put the changes just sent into the address at once (the server's canonical link follows). */
function writeChangesToUrl(changes) {
  const params = new URLSearchParams(location.hash.slice(1));
  for (const [key, value] of Object.entries(changes)) {
    params.set(key, typeof value === "boolean" ? (value ? "1" : "0") : String(value));
  }
  const query = params.toString().replace(/%2C/g, ",");
  history.replaceState(null, "", `${location.pathname}${location.search}#${query}`);
}

function writeUrl(query) {
  const url = `${location.pathname}${location.search}#${query}`;
  if (location.hash.slice(1) !== query) history.replaceState(null, "", url);
}

function showError(text) {
  $("error").textContent = text || "";
}

/** Set an element's text only when it changes (each change costs the browser a layout). */
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

// -- controls that never change shape ---------------------------------------------------
function fillSelect(select, items, label = (v) => String(v)) {
  select.replaceChildren(...items.map((v) => el("option", { value: String(v), text: label(v) })));
}

function ensureOption(select, value, label) {
  const text = String(value);
  if (![...select.options].some((o) => o.value === text)) {
    select.append(el("option", { value: text, text: label ? label(value) : text }));
  }
  select.value = text;
}

function buildStaticControls() {
  const sc = S.schema;
  fillSelect($("lr"), LEARNING_RATES);
  fillSelect($("opt"), sc.optimizers, (v) => OPT_LABELS[v] || v);
  fillSelect($("sched"), sc.schedules.map((s) => s.name), (v) => SCHED_LABELS[v] || v);
  fillSelect($("batch"), BATCHES, batchLabel);
  fillSelect($("act-all"), sc.activations, (v) => ACT_LABELS[v] || v);
  fillSelect($("l2"), L2_RATES);
  fillSelect($("l1"), L2_RATES);
  fillSelect($("init"), sc.initializers, (v) => (INIT_LABELS[v] || [v.replace("_", " ")])[0]);
  fillSelect($("dropout"), sc.dropouts, (v) => (v === 0 ? "off" : String(v)));
  fillSelect($("speed"), sc.speeds, (v) => (v === 0 ? "1 step" : `${v} epoch${v > 1 ? "s" : ""}`));
  fillSelect($("scale"), sc.scalers, (v) => SCALE_LABELS[v] || v);
  fillSelect($("maxepochs"), MAX_EPOCHS, (v) => (v === 0 ? "no limit" : `${v} epochs`));
  fillSelect($("targetloss"), TARGET_LOSSES, (v) => (v === 0 ? "off" : String(v)));
  fillSelect($("problem"), sc.problems, (v) => PROBLEM_LABELS[v] || v);
  fillSelect($("missing"), sc.missing, (v) => MISSING_LABELS[v] || v);
  const groups = { toy: "2-D toys", bundled: "Bundled data", csv: "Your data" };
  const select = $("dataset");
  select.replaceChildren();
  for (const [kind, label] of Object.entries(groups)) {
    const group = el("optgroup", { label });
    for (const d of sc.datasets.filter((d) => d.kind === kind)) group.append(el("option", { value: d.name, text: d.label }));
    select.append(group);
  }
  const thumbs = $("thumbnails");
  thumbs.replaceChildren();
  for (const d of sc.datasets.filter((d) => d.kind === "toy")) {
    const canvas = el("canvas", { width: "64", height: "64" });
    const button = el("button", { class: "thumb", title: d.label, "aria-label": d.label, dataset: { name: d.name, problem: d.problem },
      onclick: () => { S.pendingUpload = null; set({ data: d.name }); } }, canvas);
    thumbs.append(button);
    drawThumbnail(canvas, S.thumbnails[d.name]);
  }
}

function batchLabel(v) { return v === 0 ? "full batch" : v === 1 ? "1 (SGD)" : String(v); }

function drawThumbnail(canvas, t) {
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#f7f9fb"; ctx.fillRect(0, 0, 64, 64);
  for (let i = 0; i < t.x.length; i++) {
    const c = t.regression ? diverging(2 * t.value[i] - 1)
      : t.classes > 2 ? CLASS_COLORS[t.value[i] % CLASS_COLORS.length] : (t.value[i] > 0.5 ? POS : NEG);
    ctx.fillStyle = rgb(c);
    ctx.beginPath(); ctx.arc(32 + t.x[i] * 27, 32 - t.y[i] * 27, 1.7, 0, 2 * Math.PI); ctx.fill();
  }
}

// -- controls that follow the configuration ------------------------------------------------
function renderControls() {
  const c = S.config, sc = S.scene;
  ensureOption($("lr"), c.lr);
  $("opt").value = c.opt; $("sched").value = c.sched;
  $("sched").title = SCHED_HELP[c.sched] || "";
  $("opt").title = { momentum: "SGD with momentum μ = 0.9", nesterov: "SGD with Nesterov momentum μ = 0.9" }[c.opt] || "";
  ensureOption($("batch"), c.batch, batchLabel);
  const acts = new Set(c.act);
  const all = $("act-all");
  [...all.options].filter((o) => o.value === "mixed").forEach((o) => o.remove());
  if (acts.size > 1) { all.append(el("option", { value: "mixed", text: "per layer" })); all.value = "mixed"; }
  else all.value = c.act[0] || "tanh";
  all.disabled = c.hidden.length === 0;
  ensureOption($("l2"), c.l2);
  ensureOption($("l1"), c.l1);
  ensureOption($("dropout"), c.dropout);
  $("batchnorm").checked = c.batchnorm;
  $("init").value = c.init; $("seed").value = c.seed; $("speed").value = String(c.speed);
  $("init").title = (INIT_LABELS[c.init] || [c.init, c.init])[1];
  $("dataset").value = c.data;
  // the problem switch: a toy's own type; bundled data and CSV files have their target's
  const problem = (S.schema.datasets.find((d) => d.name === c.data) || {}).problem || sc.data.task;
  $("problem").value = problem;
  $("problem").disabled = sc.data.kind !== "toy";
  $("problem").title = sc.data.kind === "toy" ? "" : `${sc.data.name}: ${sc.data.task}, from its target`;
  for (const b of document.querySelectorAll(".thumb")) {
    b.classList.toggle("selected", b.dataset.name === c.data);
    b.hidden = b.dataset.problem !== problem;
  }
  ensureOption($("maxepochs"), c.maxepochs, (v) => `${v} epochs`);
  ensureOption($("targetloss"), c.targetloss);
  $("sharpness").checked = c.sharpness;
  renderClassroom();
  $("train").value = c.train; $("train-value").textContent = `${c.train}%`;
  $("noise").value = c.noise; $("noise-value").textContent = formatNumber(c.noise, 2);
  $("points").value = c.points; $("points-value").textContent = c.points;
  const toy = sc.data.kind === "toy";
  $("noise").closest(".field").hidden = !toy;
  $("points").closest(".field").hidden = !toy;
  $("regenerate").textContent = toy ? "Regenerate the data" : "Draw a new split";
  $("scale").value = c.scale;
  $("scaletarget").checked = c.scaletarget;
  $("scaletarget").closest("label").hidden = sc.data.task !== "regression";
  $("showtest").checked = c.showtest; $("discrete").checked = c.discrete;
  $("discrete").closest("label").hidden = sc.data.task !== "classification";
  // CSV controls: shown for the file in use, or for a fresh upload the engine refused
  const pending = S.pendingUpload && c.data !== "csv" ? S.pendingUpload : null;
  const csv = c.data === "csv" || pending !== null;
  $("csv-controls").hidden = !csv;
  if (csv) {
    const upload = pending || S.uploads[c.upload];
    $("csv-name").textContent = (upload ? `${upload.name}: ${upload.rows} rows, ${upload.columns.length} columns`
      : sc.data.name) + (pending ? " (not in use yet: adjust the settings below)" : "");
    fillSelect($("target"), upload ? upload.columns : [sc.data.target]);
    $("target").value = pending ? pending.target : sc.data.target;
    if (!pending) { $("onehot").checked = c.onehot; $("missing").value = c.missing; }
  }
  // the plane drawn for more than two inputs
  const inputs = sc.data.feature_names.length;
  $("view-controls").hidden = toy || inputs <= 2;
  if (!toy && inputs > 2) {
    const pair = c.view !== "pca";
    $("view-pca").checked = !pair; $("view-pair").checked = pair;
    fillSelect($("view-x"), sc.data.feature_names.map((_, i) => i), (i) => sc.data.feature_names[i]);
    fillSelect($("view-y"), sc.data.feature_names.map((_, i) => i), (i) => sc.data.feature_names[i]);
    const [i, j] = pair ? c.view.split(",").map(Number) : [0, 1];
    $("view-x").value = String(i); $("view-y").value = String(j);
    $("view-x").disabled = $("view-y").disabled = !pair;
  }
  const notes = [...sc.data.notes];
  notes.unshift(`${sc.data.n_train} training rows, ${sc.data.n_test} test rows` +
    (sc.data.task === "classification" ? `; classes: ${sc.data.classes.join(", ")}` : `; target: ${sc.data.target}`));
  $("data-notes").textContent = notes.join(". ") + ".";
  $("plane-note").textContent = sc.plane.note ? `The plane: ${sc.plane.note}.` : "";
  $("features-hint").textContent = toy ? "Click a feature to feed it in or leave it out." : `${inputs} inputs, scaled`;
  $("layers-title").textContent = `${c.hidden.length} hidden layer${c.hidden.length === 1 ? "" : "s"}`;
  $("add-layer").disabled = c.hidden.length >= S.schema.limits.layers[1];
  $("remove-layer").disabled = c.hidden.length === 0;
  const net = sc.network;
  $("network-summary").textContent = `${net.sizes.join("–")} network · output ${net.activations[net.activations.length - 1]}` +
    ` with ${LOSS_LABELS[net.loss] || net.loss} (chosen from the task) · ${sc.data.task}` +
    (net.batch_norm ? " · batch norm after each hidden X·W" : "") +
    (net.dropout ? ` · dropout p = ${net.dropout} after each hidden layer` : "") +
    (net.batch_norm || net.dropout ? " (training only; everything drawn is in evaluation mode)" : "");
  updatePredictHint();
}

// -- classroom mode: hide=… leaves controls out, lesson=… says what to look at ---------------
function renderClassroom() {
  const hidden = new Set(S.config.hide);
  for (const node of document.querySelectorAll("[data-control]")) {
    node.classList.toggle("classroom-off", hidden.has(node.dataset.control));
  }
  // controls drawn inside the network diagram
  for (const node of document.querySelectorAll(".layer-head .units")) node.classList.toggle("classroom-off", hidden.has("layers"));
  for (const node of document.querySelectorAll(".layer-head select")) node.classList.toggle("classroom-off", hidden.has("act"));
  for (const row of document.querySelectorAll(".input-row.off")) row.classList.toggle("classroom-off", hidden.has("features"));
  $("features-hint").classList.toggle("classroom-off", hidden.has("features"));
  $("network").classList.toggle("editable", !hidden.has("edit"));
  const lesson = S.config.lesson || "";
  $("lesson").hidden = !lesson;
  setText($("lesson"), lesson);
}
const canEdit = () => !(S.config && S.config.hide.includes("edit"));

function wireControls() {
  $("play").addEventListener("click", () => send({ type: S.playing ? "pause" : "play" }));
  $("step").addEventListener("click", () => send({ type: "step" }));
  $("reset").addEventListener("click", () => send({ type: "reset" }));
  $("regenerate").addEventListener("click", () => send({ type: "regenerate" }));
  for (const id of ["lr", "opt", "sched", "batch", "l2", "l1", "dropout", "init", "speed", "scale"]) {
    $(id).addEventListener("change", (e) => set({ [id]: e.target.value }));
  }
  for (const id of ["target", "onehot", "missing"]) {
    $(id).addEventListener("change", () => {
      const changes = { target: $("target").value, onehot: $("onehot").checked, missing: $("missing").value };
      if (S.config.data !== "csv" && S.pendingUpload) {
        S.pendingUpload.target = changes.target;
        Object.assign(changes, { data: "csv", upload: S.pendingUpload.id });
      }
      set(changes);
    });
  }
  $("dataset").addEventListener("change", (e) => {
    if (e.target.value === "csv" && !S.config.upload) {
      e.target.value = S.config.data;
      showError("Choose a CSV file with “Upload a CSV…” first.");
      return;
    }
    S.pendingUpload = null;
    set({ data: e.target.value });
  });
  $("act-all").addEventListener("change", (e) => { if (e.target.value !== "mixed") set({ act: e.target.value }); });
  $("seed").addEventListener("change", (e) => set({ seed: e.target.value }));
  $("showtest").addEventListener("change", (e) => { set({ showtest: e.target.checked }); S.config.showtest = e.target.checked; redraw(); });
  $("discrete").addEventListener("change", (e) => { set({ discrete: e.target.checked }); S.config.discrete = e.target.checked; redraw(); });
  $("scaletarget").addEventListener("change", (e) => set({ scaletarget: e.target.checked }));
  $("batchnorm").addEventListener("change", (e) => set({ batchnorm: e.target.checked }));
  for (const id of ["train", "noise", "points"]) {
    const input = $(id);
    input.addEventListener("input", () => {
      $(`${id}-value`).textContent = id === "train" ? `${input.value}%` : id === "noise" ? formatNumber(+input.value, 2) : input.value;
    });
    input.addEventListener("change", () => set({ [id]: input.value }));
  }
  $("add-layer").addEventListener("click", () => {
    const hidden = [...S.config.hidden, S.config.hidden.length ? S.config.hidden[S.config.hidden.length - 1] : 4];
    set({ hidden: hidden.join(",") });
  });
  $("remove-layer").addEventListener("click", () => set({ hidden: S.config.hidden.slice(0, -1).join(",") }));
  for (const radio of document.querySelectorAll("input[name=view]")) {
    radio.addEventListener("change", () => {
      if (radio.value === "pca") set({ view: "pca" });
      else set({ view: `${$("view-x").value},${$("view-y").value === $("view-x").value ? (+$("view-x").value + 1) % S.scene.data.feature_names.length : $("view-y").value}` });
    });
  }
  for (const id of ["view-x", "view-y"]) {
    $(id).addEventListener("change", () => {
      if ($("view-x").value === $("view-y").value) { showError("Pick two different inputs for the plane."); return; }
      set({ view: `${$("view-x").value},${$("view-y").value}` });
    });
  }
  $("upload").addEventListener("change", uploadFile);
  $("problem").addEventListener("change", (e) => {
    const first = S.schema.datasets.find((d) => d.problem === e.target.value);
    if (first) { S.pendingUpload = null; set({ data: first.name }); }
  });
  for (const id of ["maxepochs", "targetloss"]) $(id).addEventListener("change", (e) => set({ [id]: e.target.value }));
  $("sharpness").addEventListener("change", (e) => set({ sharpness: e.target.checked }));
  $("weight-apply").addEventListener("click", applyEdit);
  $("weight-value").addEventListener("keydown", (e) => {
    if (e.key === "Enter") applyEdit();
    else if (e.key === "Escape") closeEditor();
  });
  $("weight-cancel").addEventListener("click", closeEditor);
  $("network").addEventListener("mousemove", hoverLink);
  $("network").addEventListener("mouseleave", () => { if (S.link) { S.link = null; hideTooltip(); if (S.frame) drawLinks(S.frame); } });
  $("network").addEventListener("click", (e) => {
    if (!S.link || !canEdit() || e.target.closest(".node, button, select")) return;
    openEditor(S.link);
  });
  $("copy-link").addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(location.href); $("copy-link").textContent = "Link copied"; }
    catch { window.prompt("Copy this link:", location.href); }
    setTimeout(() => { $("copy-link").textContent = "Copy link"; }, 1500);
  });
  $("boundary").addEventListener("click", pickPoint);
  $("inspect-row").addEventListener("change", (e) => send({ type: "inspect", row: +e.target.value }));
  $("inspect-random").addEventListener("click", () => {
    const sc = S.scene; const rows = sc.points.row.filter((_, i) => sc.points.split[i] === 0);
    send({ type: "inspect", row: rows[Math.floor(Math.random() * rows.length)] });
  });
  $("inspect-worst").addEventListener("click", () => send({ type: "inspect", row: "worst" }));
  $("inspect-apply").addEventListener("click", () => send({ type: "apply_step" }));
  $("landscape-button").addEventListener("click", () => {
    $("landscape-notes").textContent = "Computing the loss over the plane…";
    send({ type: "landscape" });
  });
  $("show-snippet").addEventListener("click", async () => {
    const pre = $("snippet");
    if (!pre.hidden) { pre.hidden = true; $("show-snippet").textContent = "Show the Python snippet"; return; }
    try { pre.textContent = await (await S.transport.export("playground_run.py")).text(); }
    catch (err) { showError(err.message); return; }
    pre.hidden = false;
    $("show-snippet").textContent = "Hide the snippet";
  });
  $("error").addEventListener("click", () => showError(""));
  document.addEventListener("keydown", (e) => {
    if (e.target.closest("input, select, textarea") || e.metaKey || e.ctrlKey || e.altKey) return;
    if (e.code === "Space") { e.preventDefault(); $("play").click(); }
    else if (e.key === "s") $("step").click();
    else if (e.key === "r") $("reset").click();
  });
  window.addEventListener("resize", () => { invalidateSizes(); if (S.scene) { layoutLinks(); redraw(); } });
  // a pasted link that only changes the part after # does not reload by itself
  window.addEventListener("hashchange", () => location.reload());
}

function renderPlaying() {
  $("play").classList.toggle("playing", S.playing);
  $("play").setAttribute("aria-label", S.playing ? "Pause" : "Play");
}

async function uploadFile() {
  const file = $("upload").files[0];
  if (!file) return;
  showError("");
  const limit = 50 * 1024 * 1024;
  if (file.size > limit) {
    showError(`${file.name} is ${(file.size / 1048576).toFixed(1)} MB; the playground accepts files up to 50 MB (train on it with glassnet train instead).`);
    $("upload").value = "";
    return;
  }
  try {
    const answer = await S.transport.upload(file);
    S.uploads[answer.id] = answer;
    S.pendingUpload = answer;
    renderControls();
    set({ data: "csv", upload: answer.id, target: answer.target, onehot: $("onehot").checked, missing: $("missing").value });
  } catch (err) {
    showError(err.message);
  } finally {
    $("upload").value = "";
  }
}

/** The export links download what the transport hands over (from the server or the worker). */
function setExportLinks() {
  for (const [id, name] of [["export-model", "model.glassnet"], ["export-data", "data.csv"], ["export-snippet", "playground_run.py"]]) {
    const link = $(id);
    link.href = "#";
    link.onclick = async (event) => {
      event.preventDefault();
      try {
        const url = URL.createObjectURL(await S.transport.export(name));
        const save = el("a", { href: url, download: name, hidden: "" });
        document.body.append(save);
        save.click();
        save.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60_000);
      } catch (err) { showError(err.message); }
    };
  }
}
function updatePredictHint() {
  const sc = S.scene;
  const source = sc.data.kind === "bundled" ? S.config.data : "data.csv";
  const names = sc.data.feature_names;
  const columns = names.length > 5 ? `${names.slice(0, 4).join(", ")}, … (${names.length} in all)` : names.join(", ");
  $("predict-hint").textContent = `glassnet predict model.glassnet ${source}\n` +
    `# from Python: glassnet.io.load_model("model.glassnet").predict(X)\n` +
    `# X: a row per sample, the columns ${columns}`;
}

// -- the network diagram -------------------------------------------------------------------
function buildNetwork() {
  const sc = S.scene, c = S.config;
  const columns = $("columns");
  columns.replaceChildren();
  const sizes = sc.network.sizes;
  const tallest = Math.max(sc.inputs.length, ...sizes.slice(1));
  const node = Math.max(16, Math.min(40, Math.floor(340 / tallest) - 8));
  const gap = Math.max(4, Math.min(12, Math.floor((360 - tallest * node) / Math.max(1, tallest))));
  $("network").style.setProperty("--node", `${node}px`);
  $("network").style.setProperty("--node-gap", `${gap}px`);
  const canvases = [];
  // inputs
  const inputs = el("div", { class: "layer inputs" });
  const inputNodes = el("div", { class: "nodes" });
  const inputCanvases = [];
  sc.inputs.forEach((input) => {
    const canvas = el("canvas", { width: "25", height: "25" });
    paintBytes(canvas, decode(input.tile), sc.plane.tile, TILE_LUT);
    const box = el("div", { class: `node input${input.active ? "" : " inactive"}`, title: input.name }, canvas);
    const row = el("div", { class: `input-row${input.active ? "" : " off"}` }, el("span", { class: "name", text: input.label }), box);
    if (sc.data.kind === "toy") {
      box.addEventListener("click", () => {
        if (S.config.hide.includes("features")) return;  // classroom mode: the inputs are fixed
        const keys = sc.inputs.filter((i) => (i.key === input.key ? !i.active : i.active)).map((i) => i.key);
        if (!keys.length) { showError("Keep at least one input feature."); return; }
        set({ features: keys.join(",") });
      });
    } else {
      box.style.cursor = "default";
    }
    box.addEventListener("mouseenter", () => showTooltip(box, `<b>${escapeHtml(input.name)}</b><br>` +
      (sc.data.kind === "toy" ? `${input.active ? "fed to the network (scaled)" : "not used: click to add"}` : "an input of the network (scaled)") +
      "<br>colour: its value over the plane"));
    box.addEventListener("mouseleave", hideTooltip);
    inputNodes.append(row);
    if (input.active) inputCanvases.push(box);
  });
  inputs.append(el("div", { class: "layer-head" }), inputNodes);
  columns.append(inputs);
  canvases.push(inputCanvases);
  // hidden layers and the output
  for (let l = 1; l < sizes.length; l++) {
    const hidden = l < sizes.length - 1;
    const head = el("div", { class: "layer-head" });
    if (hidden) {
      const units = sizes[l];
      const plus = el("button", { class: "round tiny", title: "Add a neuron", "aria-label": `Add a neuron to layer ${l}`,
        onclick: () => { const h = [...c.hidden]; h[l - 1] = Math.min(S.schema.limits.units[1], h[l - 1] + 1); set({ hidden: h.join(",") }); } }, "+");
      const minus = el("button", { class: "round tiny", title: "Remove a neuron", "aria-label": `Remove a neuron from layer ${l}`,
        onclick: () => { const h = [...c.hidden]; h[l - 1] = Math.max(1, h[l - 1] - 1); set({ hidden: h.join(",") }); } }, "−");
      plus.disabled = units >= S.schema.limits.units[1];
      minus.disabled = units <= 1;
      const act = el("select", { "aria-label": `Activation of layer ${l}`, onchange: (e) => {
        const a = [...c.act]; a[l - 1] = e.target.value; set({ act: a.join(",") });
      } });
      fillSelect(act, S.schema.activations, (v) => ACT_LABELS[v] || v);
      act.value = c.act[l - 1];
      head.append(el("div", { class: "units" }, plus, minus), el("span", { class: "count", text: `${units} neuron${units > 1 ? "s" : ""}` }), act);
    } else {
      head.append(el("span", { class: "kind", text: "output" }), el("span", { class: "count", text: sc.network.activations[l - 1] }));
    }
    const nodes = el("div", { class: "nodes" });
    const list = [];
    for (let j = 0; j < sizes[l]; j++) {
      const canvas = el("canvas", { width: "25", height: "25" });
      const bias = el("span", { class: "bias", dataset: { testid: `bias-${l}-${j}` } });
      bias.addEventListener("click", (e) => {
        e.stopPropagation();
        if (canEdit() && S.frame && S.frame.biases[l - 1]) openEditor({ layer: l, unit: j, source: null });
      });
      const box = el("div", { class: "node" }, canvas, bias);
      box.addEventListener("mouseenter", () => { S.hover = { layer: l, unit: j, box }; nodeTooltip(); redraw(); });
      box.addEventListener("mouseleave", () => { S.hover = null; hideTooltip(); redraw(); });
      nodes.append(box);
      list.push(box);
    }
    columns.append(el("div", { class: `layer${hidden ? " hidden" : " output"}` }, head, nodes));
    canvases.push(list);
  }
  S.layout = canvases;
  invalidateSizes();
  layoutLinks();
  renderClassroom();
}

function layoutLinks() {
  const host = $("network").getBoundingClientRect();
  S.linkPoints = S.layout.map((column) => column.map((box) => {
    const r = box.getBoundingClientRect();
    return { left: r.left - host.left, right: r.right - host.left, y: r.top - host.top + r.height / 2 };
  }));
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"]/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[ch]));
}

function showTooltip(box, html) {
  const tip = $("tooltip");
  tip.dataset.testid = "unit-card";
  tip.innerHTML = html;
  tip.hidden = false;
  const host = $("network").getBoundingClientRect();
  const r = box.getBoundingClientRect();
  let left = r.right - host.left + 10;
  if (left + 280 > host.width) left = r.left - host.left - 290;
  tip.style.left = `${Math.max(0, left)}px`;
  tip.style.top = `${Math.max(0, r.top - host.top - 6)}px`;
}
function hideTooltip() { $("tooltip").hidden = true; }

function nodeTooltip() {
  const h = S.hover, f = S.frame, sc = S.scene;
  if (!h || !f) return;
  const W = f.weights[h.layer - 1], b = f.biases[h.layer - 1];
  const incoming = W.map((row) => row[h.unit]);
  const names = h.layer === 1 ? sc.inputs.filter((i) => i.active).map((i) => i.label) : incoming.map((_, i) => `a${i + 1}`);
  const isOutput = h.layer === sc.network.sizes.length - 1;
  const act = sc.network.activations[h.layer - 1];
  const rows = incoming.map((w, i) => `${escapeHtml(names[i])}: <span class="mono">${formatNumber(w, 4)}</span>`).join("<br>");
  showTooltip(h.box, `<b>${isOutput ? "output" : `layer ${h.layer}`}, unit ${h.unit + 1}</b> (${act})<br>` +
    `bias b = <span class="mono">${b ? formatNumber(b[h.unit], 4) : (sc.network.batch_norm && !isOutput ? "none (batch norm's β shifts instead)" : "none")}</span><br>incoming weights W[:, ${h.unit}]:<br>${rows}` +
    `<br><i>its output over the plane is drawn on the right</i>`);
}

// -- one link: its hover card, and editing a weight or a bias by hand --------------------------
/** The point at t of the link drawn from a to b (the same cubic Bézier drawLinks strokes). */
function linkPoint(a, b, t) {
  const x0 = a.right + 2, x1 = b.left - 2, mx = (x0 + x1) / 2, u = 1 - t;
  return {
    x: u * u * u * x0 + 3 * u * u * t * mx + 3 * u * t * t * mx + t * t * t * x1,
    y: u * u * u * a.y + 3 * u * u * t * a.y + 3 * u * t * t * b.y + t * t * t * b.y,
  };
}

function weightName({ layer, unit, source }) {
  return source === null ? `b${sup(layer)}[${unit}]` : `W${sup(layer)}[${source}, ${unit}]`;
}

function unitName(layer, unit) {
  return layer === S.scene.network.sizes.length - 1 ? `output unit ${unit + 1}` : `layer ${layer}, unit ${unit + 1}`;
}

function findLink(mx, my) {
  const pts = S.linkPoints, f = S.frame;
  if (!pts || !f) return null;
  let best = null, bestD = 5 * 5;
  for (let l = 0; l < f.weights.length; l++) {
    const from = pts[l], to = pts[l + 1], W = f.weights[l];
    if (!from || !to || !from.length || !to.length) continue;
    if (mx < from[0].right || mx > to[0].left) continue;  // only the links of this gap
    // (a new layout can come before its first frame: only links both of them know)
    for (let i = 0; i < from.length && i < W.length; i++) {
      for (let j = 0; j < to.length && j < W[i].length; j++) {
        for (let k = 0; k <= 32; k++) {
          const p = linkPoint(from[i], to[j], k / 32);
          const d = (p.x - mx) ** 2 + (p.y - my) ** 2;
          if (d < bestD) { bestD = d; best = { layer: l + 1, source: i, unit: j }; }
        }
      }
    }
  }
  return best;
}

function hoverLink(event) {
  if (!S.scene || event.target.closest(".node, .layer-head")) {
    if (S.link) { S.link = null; hideTooltip(); $("network").classList.remove("on-link"); if (S.frame) drawLinks(S.frame); }
    return;
  }
  const host = $("network").getBoundingClientRect();
  const mx = event.clientX - host.left, my = event.clientY - host.top;
  const before = S.link;
  S.link = findLink(mx, my);
  const same = (p, q) => (p === q) || (p && q && p.layer === q.layer && p.source === q.source && p.unit === q.unit);
  if (!same(before, S.link) && S.frame) drawLinks(S.frame);
  $("network").classList.toggle("on-link", Boolean(S.link) && canEdit());
  if (!S.link) { hideTooltip(); return; }
  const { layer, source, unit } = S.link;
  const w = S.frame.weights[layer - 1][source][unit];
  const from = layer === 1 ? S.scene.inputs.filter((i) => i.active)[source].label : `layer ${layer - 1}, unit ${source + 1}`;
  const tip = $("tooltip");
  tip.dataset.testid = "link-card";
  tip.innerHTML = `<b>${weightName(S.link)}</b> = <span class="mono">${formatNumber(w, 5)}</span><br>` +
    `from ${escapeHtml(from)} to ${unitName(layer, unit)}<br>` +
    `it adds ${formatNumber(w, 3)} × (that input) to z of the unit; each step moves it by −η·dW${sup(layer)}[${source}, ${unit}]` +
    (canEdit() ? "<br><i>click to set it by hand</i>" : "");
  tip.hidden = false;
  tip.style.left = `${Math.min(Math.max(0, mx + 14), host.width - 290)}px`;
  tip.style.top = `${Math.max(0, my + 12)}px`;
}

function openEditor(target) {
  const f = S.frame;
  const value = target.source === null ? f.biases[target.layer - 1][target.unit]
    : f.weights[target.layer - 1][target.source][target.unit];
  S.editing = { ...target };
  $("weight-name").textContent = `${weightName(target)} (${target.source === null ? "bias of" : "into"} ${unitName(target.layer, target.unit)})`;
  $("weight-value").value = String(value);
  $("weight-editor").hidden = false;
  $("weight-value").focus();
  $("weight-value").select();
}

function closeEditor() {
  S.editing = null;
  $("weight-editor").hidden = true;
}

function applyEdit() {
  const target = S.editing;
  const value = Number($("weight-value").value);
  if (!target) return;
  if ($("weight-value").value.trim() === "" || !Number.isFinite(value)) { showError("Type a number for the weight."); return; }
  send({ type: "edit", layer: target.layer, unit: target.unit, source: target.source, value });
  closeEditor();
}

// -- the stop condition, the confusion matrix, λ_max against 2/η --------------------------------
function renderStop(frame) {
  const box = $("stop-status");
  box.hidden = !frame.stop;
  if (frame.stop) setText(box, `${frame.stop[0].toUpperCase()}${frame.stop.slice(1)}. Change the limit, or step by hand.`);
}

function renderConfusion(frame) {
  const sc = S.scene, box = $("confusion-box");
  box.hidden = !frame.confusion;
  if (!frame.confusion) return;
  const names = sc.data.classes.map((c) => (/^[0-9]+$/.test(c) ? `class ${c}` : c));
  const parts = [["train", "training rows"]];
  if (S.config.showtest && frame.confusion.test) parts.push(["test", "test rows"]);
  const key = JSON.stringify([frame.confusion, parts.length]);
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  const tables = parts.map(([which, caption]) => {
    const counts = frame.confusion[which];
    const table = el("table", { dataset: { rows: which } }, el("caption", { text: caption }),
      el("tr", {}, el("th", {}), ...names.map((n) => el("th", { text: n }))));
    counts.forEach((row, i) => {
      const total = row.reduce((a, b) => a + b, 0) || 1;
      table.append(el("tr", {}, el("th", { text: names[i] }), ...row.map((v, j) => el("td", {
        text: String(v),
        style: `background:${rgb(lighten(i === j ? POS : NEG, 1 - 0.6 * (v / total)))}`,
      }))));
    });
    return table;
  });
  $("confusion").replaceChildren(...tables);
}

function renderCurvature(frame) {
  const C = S.curvature;
  if (frame.curvature && frame.curvature_count !== C.count) {
    C.count = frame.curvature_count;
    C.x.push(frame.curvature.epoch); C.value.push(frame.curvature.value);
    C.threshold.push(frame.curvature.threshold ?? NaN);
  }
  const opt = S.config.opt;
  setText($("threshold-name"), opt === "momentum" || opt === "nesterov" ? "(2 + 2μ)/η, μ = 0.9" : "2/η");
  const series = [{ x: C.x, y: C.threshold, color: "#b3261e", width: 1.4, dash: [5, 4] },
    { x: C.x, y: C.value, color: "#1b6fb5", width: 1.8 }];
  // a log scale only when the values span more than a decade or so
  const values = [...C.value, ...C.threshold].filter((v) => Number.isFinite(v) && v > 0);
  const log = values.length > 0 && Math.max(...values) / Math.min(...values) > 20;
  lineChart($("sharpness-chart"), series, { log, yMin: log ? undefined : 0, xLabel: "epoch",
    empty: S.config.sharpness ? "measured while playing" : "off" });
  let note;
  if (S.config.dropout || S.config.batchnorm) note = "Not measured with dropout or batch norm: their training loss is random or depends on the batch, so its Hessian has no exact product here.";
  else if (!S.config.sharpness) note = "Off: tick the box to measure λmax now and then while playing.";
  else if (!C.x.length) note = "Press play: λmax is measured now and then while training.";
  else {
    const v = C.value[C.value.length - 1], t = C.threshold[C.threshold.length - 1];
    note = `λmax = ${formatNumber(v, 4)} at epoch ${formatNumber(C.x[C.x.length - 1], 4)}` +
      (Number.isFinite(t) ? `; the line is at ${formatNumber(t, 4)} (λmax is ${formatNumber(100 * v / t, 3)}% of it)` +
        (S.config.batch ? ". With mini-batches each step sees a different loss: the edge of stability is a full-batch law" : "")
        : `; ${OPT_LABELS[opt]} divides each step by a running gradient scale, so no fixed line applies`) + ".";
  }
  setText($("sharpness-note"), note);
}

function drawLinks(frame) {
  const canvas = $("links");
  const { ctx, w, h } = fit(canvas);
  ctx.clearRect(0, 0, w, h);
  const pts = S.linkPoints;
  if (!pts) return;
  let top = 0;
  for (const W of frame.weights) for (const row of W) for (const v of row) top = Math.max(top, Math.abs(v ?? 0));
  const scale = top > 0 ? Math.min(1, 2.5 / top) : 1;
  for (let l = 0; l < frame.weights.length; l++) {
    const W = frame.weights[l], from = pts[l], to = pts[l + 1];
    if (!from || !to) continue;
    for (let i = 0; i < W.length && i < from.length; i++) {
      for (let j = 0; j < W[i].length && j < to.length; j++) {
        const v = W[i][j] ?? 0;
        const a = from[i], b = to[j];
        const strength = Math.min(1, Math.abs(v) * scale / 1.6);
        ctx.strokeStyle = rgb(v >= 0 ? POS : NEG, 0.18 + 0.7 * strength);
        ctx.lineWidth = 0.5 + 5.5 * strength;
        const x0 = a.right + 2, x1 = b.left - 2, mx = (x0 + x1) / 2;
        ctx.beginPath();
        ctx.moveTo(x0, a.y);
        ctx.bezierCurveTo(mx, a.y, mx, b.y, x1, b.y);
        ctx.stroke();
      }
    }
  }
  const link = S.link;  // the link under the pointer, outlined
  if (link && pts[link.layer - 1] && pts[link.layer]) {
    const a = pts[link.layer - 1][link.source], b = pts[link.layer][link.unit];
    if (a && b) {
      const x0 = a.right + 2, x1 = b.left - 2, mx = (x0 + x1) / 2;
      ctx.strokeStyle = "rgba(20,28,38,0.9)"; ctx.lineWidth = 2.5; ctx.setLineDash([4, 3]);
      ctx.beginPath(); ctx.moveTo(x0, a.y); ctx.bezierCurveTo(mx, a.y, mx, b.y, x1, b.y); ctx.stroke();
      ctx.setLineDash([]);
    }
  }
}

// -- frames ------------------------------------------------------------------------------
function ingest(frame) {
  const sc = S.scene;
  if (!sc) return;
  const x = frame.epoch + (frame.position || 0) / Math.max(1, sc.data.n_train);
  const cur = S.curves;
  cur.x.push(x); cur.train.push(frame.train_loss); cur.test.push(frame.test_loss);
  if (cur.x.length > MAX_SERIES) for (const k of ["x", "train", "test"]) cur[k] = cur[k].filter((_, i) => i % 2 === 0);
  if (frame.gradient_norms[0] !== null) {
    S.grads.x.push(x); S.grads.norms.push(frame.gradient_norms);
    if (S.grads.x.length > MAX_SERIES) {
      S.grads.x = S.grads.x.filter((_, i) => i % 2 === 0);
      S.grads.norms = S.grads.norms.filter((_, i) => i % 2 === 0);
    }
  }
}

function drawFrame(frame) {
  S.frame = frame;
  const sc = S.scene;
  if (!sc) return;
  setText($("epoch"), String(frame.epoch));
  setText($("steps"), `step ${frame.step}` + (frame.position ? ` · ${frame.position}/${sc.data.n_train}` : "") +
    ` · lr ${formatNumber(frame.lr, 3)}`);
  $("steps").title = frame.position ? `${frame.position} of the ${sc.data.n_train} training rows of epoch ${frame.epoch + 1} done` : "";
  setMetric("train-loss", frame.train_loss);
  setMetric("test-loss", frame.test_loss);
  const scoreName = sc.data.task === "classification" ? "accuracy" : "R²";
  const fmtScore = (v) => (v === null ? "" : sc.data.task === "classification" ? `${scoreName} ${(100 * v).toFixed(1)}%` : `${scoreName} ${v.toFixed(3)}`);
  setText($("train-score"), fmtScore(frame.train_score) + (frame.penalty ? ` · incl. penalty ${formatNumber(frame.penalty, 3)}` : ""));
  setText($("test-score"), fmtScore(frame.test_score));
  // unit tiles and links
  frame.units.forEach((layer, l) => layer.forEach((u, j) => {
    const box = S.layout[l + 1] && S.layout[l + 1][j];
    if (!box) return;
    paintBytes(box.firstChild, decode(u.tile), sc.plane.tile, TILE_LUT);
    const b = frame.biases[l] ? frame.biases[l][j] : null;
    box.lastChild.style.background = b === null ? "transparent" : rgb(diverging(Math.tanh(b)));
    const off = Boolean(frame.inactive_units[l] && frame.inactive_units[l][j]) && l < frame.units.length - 1;
    box.classList.toggle("dead", off);
    if (off) box.dataset.state = inactiveWord(sc.network.activations[l]);
  }));
  drawLinks(frame);
  drawBoundary(frame);
  lineChart($("loss-chart"), [
    { x: S.curves.x, y: S.curves.train, color: "#3c4a5a", width: 1.6 },
    { x: S.curves.x, y: S.curves.test, color: "#e2761b", width: 1.6 },
  ], { yMin: 0, xLabel: "epoch", empty: "press play" });
  drawDynamics(frame);
  renderStop(frame);
  renderConfusion(frame);
  renderCurvature(frame);
  if (S.hover) nodeTooltip();
}

function setMetric(id, value) {
  const node = $(id);
  setText(node, value === null || value === undefined ? "–" : value.toFixed(4));
  node.dataset.value = value === null || value === undefined ? "" : String(value);
}

function redraw() { if (S.frame) drawFrame(S.frame); }

// -- the output plane ---------------------------------------------------------------------
const MARGIN = { left: 34, bottom: 30, top: 6, right: 6 };
const offscreen = document.createElement("canvas");

function drawBoundary(frame) {
  const sc = S.scene, c = S.config;
  const canvas = $("boundary");
  const { ctx, w, h } = fit(canvas);
  ctx.clearRect(0, 0, w, h);
  const pw = w - MARGIN.left - MARGIN.right, ph = h - MARGIN.top - MARGIN.bottom;
  const R = sc.plane.resolution;
  const out = frame.output;
  let hoverTitle = null;
  if (S.hover) {
    const unit = frame.units[S.hover.layer - 1][S.hover.unit];
    paintBytes(offscreen, decode(unit.tile), sc.plane.tile, TILE_LUT);
    hoverTitle = S.hover.layer === sc.network.sizes.length - 1 ? `output unit ${S.hover.unit + 1}` : `layer ${S.hover.layer}, unit ${S.hover.unit + 1}`;
  } else if (out.kind === "classes") {
    const classes = decode(out.value), confidence = decode(out.confidence);
    paintBytes(offscreen, classes, R, TILE_LUT, (i) => {
      const base = CLASS_COLORS[classes[i] % CLASS_COLORS.length];
      const strength = c.discrete ? 0.55 : 0.25 + 0.5 * (confidence[i] / 255);
      return lighten(base, 1 - strength);
    });
  } else {
    const lut = out.kind === "value" ? VALUE_LUT : (c.discrete ? PROB_DISCRETE_LUT : PROB_LUT);
    paintBytes(offscreen, decode(out.value), R, lut);
  }
  ctx.imageSmoothingEnabled = !(c.discrete && !S.hover);
  ctx.drawImage(offscreen, MARGIN.left, MARGIN.top, pw, ph);
  // the points and axes do not move while training: drawn once, then copied
  const key = `${S.sceneId}|${c.showtest}|${S.inspect ? S.inspect.row : -1}|${canvas.width}x${canvas.height}`;
  if (S.overlayKey !== key) {
    S.overlayKey = key;
    overlay.width = canvas.width; overlay.height = canvas.height;
    const octx = overlay.getContext("2d");
    octx.setTransform(canvas.width / w, 0, 0, canvas.height / h, 0, 0);
    drawPointsAndAxes(octx, w, h, pw, ph);
  }
  ctx.drawImage(overlay, 0, 0, w, h);
  if (hoverTitle) {
    ctx.font = "600 12px system-ui, sans-serif"; ctx.textAlign = "left";
    const label = `showing ${hoverTitle}`;
    const width = ctx.measureText(label).width + 12;
    ctx.fillStyle = "rgba(22,32,44,0.85)"; ctx.fillRect(MARGIN.left + 6, MARGIN.top + 6, width, 20);
    ctx.fillStyle = "#fff"; ctx.fillText(label, MARGIN.left + 12, MARGIN.top + 20);
  }
}

const overlay = document.createElement("canvas");

function drawPointsAndAxes(ctx, w, h, pw, ph) {
  const sc = S.scene, c = S.config;
  const [x0, x1, y0, y1] = sc.plane.domain;
  const X = (v) => MARGIN.left + ((v - x0) / (x1 - x0)) * pw;
  const Y = (v) => MARGIN.top + (1 - (v - y0) / (y1 - y0)) * ph;
  const p = sc.points;
  const radius = p.x.length > 1200 ? 2.2 : p.x.length > 600 ? 2.8 : 3.4;
  const [lo, hi] = sc.data.target_range;
  ctx.clearRect(0, 0, w, h);
  ctx.save();
  ctx.beginPath(); ctx.rect(MARGIN.left, MARGIN.top, pw, ph); ctx.clip();
  // one path per colour and split: a few draw calls for thousands of points
  const groups = new Map();
  for (let i = 0; i < p.x.length; i++) {
    const split = p.split[i];
    if (split === 1 && !c.showtest) continue;
    let color;
    if (sc.data.task === "regression") color = diverging(2 * ((p.label[i] - lo) / (hi - lo)) - 1);
    else if (sc.data.classes.length > 2) color = CLASS_COLORS[p.label[i] % CLASS_COLORS.length];
    else color = p.label[i] === 1 ? POS : NEG;
    const key = `${split}|${color.join(",")}`;
    let group = groups.get(key);
    if (!group) { group = { split, color, path: new Path2D() }; groups.set(key, group); }
    const x = X(p.x[i]), y = Y(p.y[i]);
    group.path.moveTo(x + radius, y);
    group.path.arc(x, y, radius, 0, 2 * Math.PI);
  }
  const ordered = [...groups.values()].sort((a, b) => a.split - b.split);  // test points on top
  for (const g of ordered) {
    ctx.fillStyle = rgb(g.color);
    ctx.fill(g.path);
    ctx.lineWidth = g.split === 1 ? 1.3 : 0.9;
    ctx.strokeStyle = g.split === 1 ? "rgba(20,20,20,0.9)"
      : sc.data.task === "regression" ? "rgba(40,50,60,0.55)" : "rgba(255,255,255,0.95)";
    ctx.stroke(g.path);
  }
  if (S.inspect) {
    const i = p.row.indexOf(S.inspect.row);
    if (i >= 0) {
      ctx.lineWidth = 2.2; ctx.strokeStyle = "#111";
      ctx.beginPath(); ctx.arc(X(p.x[i]), Y(p.y[i]), radius + 4, 0, 2 * Math.PI); ctx.stroke();
    }
  }
  ctx.restore();
  // axes
  ctx.strokeStyle = "#b9c2cb"; ctx.lineWidth = 1;
  ctx.strokeRect(MARGIN.left + 0.5, MARGIN.top + 0.5, pw - 1, ph - 1);
  ctx.fillStyle = "#6b7785"; ctx.font = "10px system-ui, sans-serif";
  ctx.textAlign = "center";
  for (const v of niceTicks(x0, x1, 6)) {
    const x = X(v); ctx.fillRect(x, MARGIN.top + ph, 1, 3); ctx.fillText(formatNumber(v, 3), x, MARGIN.top + ph + 13);
  }
  ctx.textAlign = "right";
  for (const v of niceTicks(y0, y1, 6)) {
    const y = Y(v); ctx.fillRect(MARGIN.left - 3, y, 3, 1); ctx.fillText(formatNumber(v, 3), MARGIN.left - 5, y + 3);
  }
  ctx.fillStyle = "#3d4a58"; ctx.font = "11px system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.fillText(sc.plane.xlabel, MARGIN.left + pw / 2, h - 3);
  if (sc.plane.ylabel) {
    ctx.save(); ctx.translate(10, MARGIN.top + ph / 2); ctx.rotate(-Math.PI / 2);
    ctx.fillText(sc.plane.ylabel, 0, 0); ctx.restore();
  }
}

function renderLegend() {
  const sc = S.scene;
  const canvas = $("legend");
  const { ctx, w, h } = fit(canvas);
  ctx.clearRect(0, 0, w, h);
  ctx.font = "10px system-ui, sans-serif"; ctx.fillStyle = "#6b7785";
  if (sc.data.task === "classification" && sc.data.classes.length > 2) {
    let x = 2, y = 12;
    ctx.font = "11px system-ui, sans-serif"; ctx.textAlign = "left";
    sc.data.classes.forEach((name, k) => {
      const width = ctx.measureText(String(name)).width + 26;
      if (x + width > w && x > 2) { x = 2; y += 15; }
      ctx.fillStyle = rgb(CLASS_COLORS[k % CLASS_COLORS.length]); ctx.fillRect(x, y - 9, 10, 10);
      ctx.fillStyle = "#3d4a58"; ctx.fillText(String(name), x + 14, y);
      x += width;
    });
    return;
  }
  const barW = w - 4;
  for (let i = 0; i < barW; i++) { ctx.fillStyle = rgb(diverging((2 * i) / (barW - 1) - 1)); ctx.fillRect(2 + i, 4, 1, 10); }
  ctx.fillStyle = "#3d4a58";
  if (sc.data.task === "classification") {
    const name = (c) => (/^[0-9]+$/.test(c) ? `class ${c}` : c);
    ctx.textAlign = "left"; ctx.fillText(name(sc.data.classes[0]), 2, 27);
    ctx.textAlign = "center"; ctx.fillStyle = "#8a96a3"; ctx.fillText("P = ½", w / 2, 27);
    ctx.fillStyle = "#3d4a58"; ctx.textAlign = "right"; ctx.fillText(name(sc.data.classes[1]), w - 2, 27);
  } else {
    const [lo, hi] = sc.data.target_range;
    const units = sc.data.target_units;  // a standardised target: its own units in the legend
    const own = (v) => (units ? v * units[1] + units[0] : v);
    ctx.textAlign = "left"; ctx.fillText(`${sc.data.target} ${formatNumber(own(lo), 3)}`, 2, 27);
    ctx.textAlign = "right"; ctx.fillText(formatNumber(own(hi), 3), w - 2, 27);
  }
}

function pickPoint(event) {
  const sc = S.scene;
  if (!sc) return;
  const canvas = $("boundary");
  const rect = canvas.getBoundingClientRect();
  const mx = event.clientX - rect.left, my = event.clientY - rect.top;
  const pw = rect.width - MARGIN.left - MARGIN.right, ph = rect.height - MARGIN.top - MARGIN.bottom;
  const [x0, x1, y0, y1] = sc.plane.domain;
  let best = -1, bestD = 12 * 12;
  sc.points.x.forEach((x, i) => {
    if (sc.points.split[i] !== 0) return;
    const px = MARGIN.left + ((x - x0) / (x1 - x0)) * pw, py = MARGIN.top + (1 - (sc.points.y[i] - y0) / (y1 - y0)) * ph;
    const d = (px - mx) ** 2 + (py - my) ** 2;
    if (d < bestD) { bestD = d; best = i; }
  });
  if (best >= 0) {
    send({ type: "inspect", row: sc.points.row[best] });
    $("inspector").scrollIntoView({ behavior: "smooth", block: "nearest" });
  }
}

// -- training dynamics --------------------------------------------------------------------
function drawDynamics(frame) {
  const sc = S.scene;
  const layers = frame.weights.length;
  const series = [];
  for (let l = 0; l < layers; l++) {
    const color = SERIES[l % SERIES.length];
    const raw = S.grads.norms.map((n) => n[l]);
    const trend = smooth(raw.map((v) => (v > 0 ? Math.log10(v) : NaN))).map((v) => 10 ** v);
    series.push({ x: S.grads.x, y: raw, color, width: 1, alpha: 0.22 });
    series.push({ x: S.grads.x, y: trend, color, width: 1.8 });
  }
  lineChart($("grad-chart"), series, { log: true, xLabel: "epoch", empty: "no step yet" });
  const legend = $("grad-legend");
  if (legend.childElementCount !== layers + 1) {
    legend.replaceChildren(...Array.from({ length: layers }, (_, l) => el("span", {},
      el("i", { style: `background:${SERIES[l % SERIES.length]}` }), l === layers - 1 ? "output layer" : `layer ${l + 1}`)),
    el("span", { class: "hint", text: "faint: each update; solid: moving average" }));
  }
  const health = $("unit-health");
  if (health.dataset.layers !== String(layers)) {  // rows once per layout, then only their text
    health.dataset.layers = String(layers);
    const rows = [];
    for (let l = 0; l < layers - 1; l++) {
      rows.push(el("div", { class: "row" }, el("span", {}), el("span", { class: "bar" }, el("b", {}))));
    }
    if (!rows.length) rows.push(el("span", { class: "hint", text: "no hidden layers" }));
    health.replaceChildren(...rows);
  }
  for (let l = 0; l < layers - 1; l++) {
    const row = health.children[l];
    const act = sc.network.activations[l];
    const n = sc.network.sizes[l + 1];
    const k = frame.inactive[l];
    row.classList.toggle("warn", k > 0);
    setText(row.firstChild, `layer ${l + 1} (${act}): ${k} of ${n} ${inactiveWord(act)}`);
    row.lastChild.firstChild.style.width = `${(100 * k) / n}%`;
  }
}

function inactiveWord(act) {
  return act === "relu" || act === "leaky_relu" ? "dead" : act === "identity" ? "inactive" : "saturated";
}

// -- the loss landscape -------------------------------------------------------------------
function clearLandscape() {
  const canvas = $("landscape");
  const { ctx, w, h } = fit(canvas);
  ctx.clearRect(0, 0, w, h);
  $("landscape-notes").textContent = "";
}

function renderLandscape(m) {
  const view = landscapeImage($("landscape"), m.loss, m.x, m.y);
  const { ctx } = view;
  const px = m.path.x.map(view.X), py = m.path.y.map(view.Y);
  ctx.lineJoin = "round";
  for (const [width, color] of [[4, "rgba(10,20,30,0.55)"], [2, "#ffffff"]]) {
    ctx.strokeStyle = color; ctx.lineWidth = width;
    ctx.beginPath(); px.forEach((x, i) => (i ? ctx.lineTo(x, py[i]) : ctx.moveTo(x, py[i]))); ctx.stroke();
  }
  const mark = (x, y, fill, label) => {
    ctx.beginPath(); ctx.arc(x, y, 5, 0, 2 * Math.PI); ctx.fillStyle = fill; ctx.fill();
    ctx.lineWidth = 1.5; ctx.strokeStyle = "#111"; ctx.stroke();
    ctx.font = "600 11px system-ui, sans-serif"; ctx.fillStyle = "#111";
    const width = ctx.measureText(label).width;
    const right = x + 8 + width < view.w - 2;
    ctx.textAlign = right ? "left" : "right";
    const tx = right ? x + 8 : x - 8, ty = Math.min(view.h - 4, Math.max(12, y + 4));
    ctx.strokeStyle = "rgba(255,255,255,0.85)"; ctx.lineWidth = 3;
    ctx.strokeText(label, tx, ty); ctx.fillText(label, tx, ty);
  };
  mark(px[0], py[0], "#ffffff", "start");
  mark(px[px.length - 1], py[py.length - 1], "#e2761b", `now (epoch ${m.epoch})`);
  const share = (v) => (v < 0.095 && v > 0 ? `${(100 * v).toFixed(1)}%` : `${Math.round(100 * v)}%`);
  $("landscape-notes").textContent =
    `Training loss from ${formatNumber(view.lo, 3)} (dark) to ${formatNumber(view.hi, 3)} (light), in bands of equal ratio. ` +
    `The plane passes through the starting weights; its two directions carry ${share(m.explained[0])} and ` +
    `${share(m.explained[1])} of the path's squared displacement. The ${m.points} recorded points lie on average ` +
    `${share(m.mean_off_plane)} off this plane (at most ${share(m.max_off_plane)}); drawn at their projections, ` +
    `their loss differs from the true loss by at most ${formatNumber(m.max_gap, 3)}.`;
}

// -- the step inspector ---------------------------------------------------------------------
function renderInspectorEmpty() {
  $("inspector").replaceChildren(el("p", { class: "placeholder", text: "No sample picked yet." }));
  $("inspect-apply").disabled = true;
}

function matrix(values, { rowNames, colNames } = {}) {
  const rows = Array.isArray(values[0]) ? values : [values];
  let top = 0;
  for (const r of rows) for (const v of r) top = Math.max(top, Math.abs(v ?? 0));
  const table = el("table", { class: "matrix" });
  if (colNames) table.append(el("tr", {}, el("td", {}), ...colNames.map((n) => el("td", { text: n, style: "color:#8a96a3" }))));
  rows.forEach((r, i) => {
    const tr = el("tr", {});
    if (rowNames) tr.append(el("td", { text: rowNames[i], style: "color:#8a96a3;text-align:left" }));
    for (const v of r) {
      const bg = top > 0 ? lighten(diverging((v ?? 0) / top), 0.45) : [250, 250, 250];
      tr.append(el("td", { text: formatNumber(v, 3), style: `background:${rgb(bg)}` }));
    }
    table.append(tr);
  });
  return table;
}

function eq(kind, formula, where, value) {
  return el("div", { class: `eq ${kind}` },
    el("div", {}, el("span", { class: "formula", text: formula }), where ? el("span", { class: "where", text: where }) : null),
    value ? el("div", { class: "value" }, value) : null);
}

function renderInspector(r) {
  const training = r.mode === "train";
  $("inspect-apply").disabled = !training;
  $("inspect-row").value = r.row;
  const F = r.formulas;
  const L = r.layers.length;
  const act = (name) => F.activation[name] || [name, ""];
  const names = r.feature_names;
  const forward = el("div", { class: "stepcol" }, el("h3", { text: training ? "Forward pass" : "Forward pass (evaluation mode)" }));
  forward.append(eq("forward", "A⁰ = x (scaled)", `raw ${r.x_raw.map((v) => formatNumber(v, 3)).join(", ")}`, matrix(r.x, { colNames: names })));
  r.layers.forEach((layer, i) => {
    const l = i + 1;
    const isOut = l === L;
    const N = layer.norm;
    forward.append(eq("forward", F.layer.Z, `layer ${l}: X = A${sup(l - 1)}; W${sup(l)} (a row per input, a column per unit)` + (layer.b ? `, then b${sup(l)}` : N ? "; no b: batch norm's β shifts instead" : ""),
      el("div", {}, matrix(layer.W), layer.b ? el("div", { style: "margin-top:3px" }, matrix(layer.b)) : null)));
    forward.append(eq("forward", `Z${sup(l)} = A${sup(l - 1)}·W${sup(l)}` + (layer.b ? ` + b${sup(l)}` : ""), "", matrix(layer.Z)));
    if (N) {
      const B = F.batch_norm;
      forward.append(eq("forward", `${B.stats},  ${B.var}`, `batch norm ${l}, evaluation mode: the running statistics (x = Z${sup(l)}, eps = ${N.eps})`,
        matrix([N.mean, N.var], { rowNames: ["μ", "σ²"] })));
      forward.append(eq("forward", `${B.s},  ${B.x_hat}`, `x̂${sup(l)}`, matrix(N.x_hat)));
      forward.append(eq("forward", B.y, `γ, β and y${sup(l)}`, matrix([N.gamma, N.beta, N.y], { rowNames: ["γ", "β", "y"] })));
    }
    const input = N ? `; Z here is batch norm's y${sup(l)}` : "";
    if (layer.mask) {
      const D = F.dropout;
      forward.append(eq("forward", `${F.layer.A}:  ${act(layer.activation)[0]}`, `f(·) before dropout${input}`, matrix(layer.F)));
      forward.append(eq("forward", D.M, `dropout p = ${layer.dropout}: this step's mask M${sup(l)}, drawn from the network's seeded Generator`, matrix(layer.mask)));
      forward.append(eq("forward", D.Y, `A${sup(l)} = f(·) ⊙ M${sup(l)}`, matrix(layer.A)));
    } else {
      const off = layer.dropout ? `; dropout p = ${layer.dropout} is off in evaluation mode` : "";
      forward.append(eq("forward", `${F.layer.A}:  ${act(layer.activation)[0]}`, (isOut ? "the prediction ŷ" : `A${sup(l)}`) + input + off, matrix(layer.A)));
    }
  });
  forward.append(eq("forward", F.loss[0], `m = 1, y = ${r.y.map((v) => formatNumber(v, 3)).join(", ")}`,
    el("span", { class: "scalar", text: `L = ${formatNumber(r.data_loss, 5)}` })));
  if (F.l2) forward.append(eq("forward", F.l2[0], `α = ${r.alpha}, N = 1`, null));
  if (F.l1) forward.append(eq("forward", F.l1[0], `λ = ${r.l1}, N = 1`, null));
  if (F.l2 || F.l1) forward.append(eq("forward", "L with the penalties", "", el("span", { class: "scalar", text: `L = ${formatNumber(r.loss, 5)}` })));

  const backward = el("div", { class: "stepcol" }, el("h3", { text: training ? "Backward pass" : "Backward pass (evaluation mode)" }));
  for (let i = L - 1; i >= 0; i--) {
    const layer = r.layers[i], l = i + 1;
    const N = layer.norm;
    if (l === L) {
      if (r.fused) backward.append(eq("backward", F.loss[1], `output and loss fused: dZ${sup(l)}`, matrix(layer.dZ)));
      else {
        backward.append(eq("backward", F.loss[1], `dA${sup(l)}`, matrix(layer.dA)));
        backward.append(eq("backward", `${F.layer.dZ}:  ${act(layer.activation)[1]}`, `dZ${sup(l)}`, matrix(layer.dZ)));
      }
    } else {
      backward.append(eq("backward", F.layer.dX, `dA${sup(l)} = dZ${sup(l + 1)}·W${sup(l + 1)}ᵀ`, matrix(layer.dA)));
      if (layer.mask) backward.append(eq("backward", F.dropout.dX, `through dropout: dA${sup(l)} ⊙ M${sup(l)}, the same mask`, matrix(layer.dF)));
      if (N) {
        const B = F.batch_norm;
        backward.append(eq("backward", `${F.layer.dZ}:  ${act(layer.activation)[1]}`, `dy${sup(l)}, into batch norm's output`, matrix(layer.dY)));
        backward.append(eq("backward", B.dX, `evaluation mode, μ and s fixed: dZ${sup(l)} = dy${sup(l)}·γ/s`, matrix(layer.dZ)));
        backward.append(eq("backward", `${B.dgamma},  ${B.dbeta}`, "read from the engine", matrix([N.dgamma, N.dbeta], { rowNames: ["dγ", "dβ"] })));
      } else {
        backward.append(eq("backward", `${F.layer.dZ}:  ${act(layer.activation)[1]}`, `dZ${sup(l)}`, matrix(layer.dZ)));
      }
    }
    backward.append(eq("backward", F.layer.dW + (F.l2 ? `,  ${F.l2[1]}` : "") + (F.l1 ? `,  ${F.l1[1]}` : ""), `dW${sup(l)} = A${sup(l - 1)}ᵀ·dZ${sup(l)}, read from the engine`, matrix(layer.dW)));
    if (layer.db) backward.append(eq("backward", F.layer.db, `db${sup(l)}`, matrix(layer.db)));
  }

  const update = el("div", { class: "stepcol" }, el("h3", { text: training ? `Update: ${OPT_LABELS[r.optimizer] || r.optimizer}, lr ${formatNumber(r.lr, 3)}` : "No update" }));
  if (training) {
    update.append(eq("update", F.optimizer.join("\n"), "g is dW or db; Δθ read from the engine after its step", null));
    update.lastChild.querySelector(".formula").style.whiteSpace = "pre";
    r.layers.forEach((layer, i) => {
      const l = i + 1;
      update.append(eq("update", `ΔW${sup(l)}`, "", matrix(layer.delta_W)));
      if (layer.delta_b) update.append(eq("update", `Δb${sup(l)}`, "", matrix(layer.delta_b)));
    });
  } else {
    update.append(el("p", { class: "hint", text: "Batch norm is on, and a training step on one row is undefined: the variance of one row is 0, " +
      "so x̂ = 0 and every output would be β. Training steps use whole batches (batch statistics, dropout masks); " +
      "this inspector shows the evaluation-mode pass the page draws with, and its gradients, and takes no step." }));
  }
  const summary = el("p", { class: "summary-line" });
  const target = `Training row <b>${r.row}</b>: target <b>${r.y.map((v) => formatNumber(v, 3)).join(", ")}</b>, ` +
    `prediction <b>${r.yhat.map((v) => formatNumber(v, 4)).join(", ")}</b>`;
  const masked = r.layers.some((layer) => layer.mask) ? " (with this step's dropout masks)" : "";
  summary.innerHTML = training
    ? `${target}${masked}; its loss <b>${formatNumber(r.loss, 5)}</b> becomes <b>${formatNumber(r.loss_after, 5)}</b> after this one step.`
    : `${target} in evaluation mode (batch norm on its running statistics, dropout off); its loss <b>${formatNumber(r.loss, 5)}</b>.`;
  $("inspector").replaceChildren(summary, el("div", { class: "steps" }, forward, backward, update));
  redraw();
}

function sup(n) {
  const digits = "⁰¹²³⁴⁵⁶⁷⁸⁹";
  return String(n).split("").map((d) => digits[+d]).join("");
}

// -- measurement hook (benchmarks/playground_fps.py reads it) -------------------------------
window.glassnetPlayground = {
  // the page coordinates of a point on the link W^layer[source, unit], for the browser tests
  linkPoint: (layer, source, unit, t = 0.3) => {
    const host = $("network").getBoundingClientRect();
    const p = linkPoint(S.linkPoints[layer - 1][source], S.linkPoints[layer][unit], t);
    return { x: host.left + p.x, y: host.top + p.y };
  },
  config: () => S.config,  // the setup the engine runs (the link may be a change ahead)
  frame: () => S.frame,
  inspected: () => S.inspect,
  stats: () => ({
    frames: S.stats.frames, received: S.stats.received, bytes: S.stats.bytes, drawMs: S.stats.drawMs,
    epoch: S.frame ? S.frame.epoch : 0, step: S.frame ? S.frame.step : 0,
    playing: S.playing, now: performance.now(),
  }),
};

wireControls();
connect();
