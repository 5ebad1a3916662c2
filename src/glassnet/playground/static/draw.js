// Drawing helpers for the glassnet playground: colours, heat maps, charts, links.
// Every value drawn here was computed by glassnet in Python; this file only paints it.

export const NEG = [226, 118, 27];   // negative values, class 0
export const POS = [31, 120, 193];   // positive values, class 1
export const MID = [246, 247, 248];
export const CLASS_COLORS = [
  [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
];
export const SERIES = ["#1b6fb5", "#e2761b", "#2e9e5b", "#b0397a", "#6a5acd", "#8c6d1f", "#2aa3b8"];

const mix = (a, b, t) => [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t));
export const lighten = (c, t) => mix(c, [255, 255, 255], t);
export const rgb = (c, alpha = 1) => `rgba(${c[0]},${c[1]},${c[2]},${alpha})`;

/** Colour of t in [-1, 1]: NEG at -1, MID at 0, POS at +1. */
export function diverging(t) {
  t = Math.max(-1, Math.min(1, t));
  return t < 0 ? mix(MID, NEG, -t) : mix(MID, POS, t);
}

// byte -> colour tables
function table(fn) {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let q = 0; q < 256; q++) lut.set(fn(q), q * 3);
  return lut;
}
/** Unit tiles: q = 127.5·(v/s + 1). */
export const TILE_LUT = table((q) => diverging(q / 127.5 - 1));
/** The output as a probability of class 1 (q = 255·p), lightened so points stand out. */
export const PROB_LUT = table((q) => lighten(diverging(2 * q / 255 - 1), 0.18));
export const PROB_DISCRETE_LUT = table((q) => lighten(q > 127 ? POS : NEG, 0.45));
/** Regression: q spans the targets' range, low values in NEG, high in POS. */
export const VALUE_LUT = PROB_LUT;

export function decode(b64) {
  const text = atob(b64);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** Paint bytes (size × size, row 0 on top) through a colour table onto a canvas of that size. */
export function paintBytes(canvas, bytes, size, lut, extra) {
  if (canvas.width !== size) { canvas.width = size; canvas.height = size; }
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(size, size);
  const px = image.data;
  for (let i = 0, n = size * size; i < n; i++) {
    const k = bytes[i] * 3;
    let r = lut[k], g = lut[k + 1], b = lut[k + 2];
    if (extra) [r, g, b] = extra(i, r, g, b);
    px[i * 4] = r; px[i * 4 + 1] = g; px[i * 4 + 2] = b; px[i * 4 + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}

let sizeEpoch = 0;
/** Forget the CSS sizes remembered by {@link fit} (call after a resize or a new layout). */
export function invalidateSizes() { sizeEpoch++; }

/**
 * Size a canvas's backing store to its CSS box times the device pixel ratio. The CSS box
 * is read once per layout: reading it every frame would force the browser to lay the page
 * out again after each change of text.
 */
export function fit(canvas) {
  const ratio = window.devicePixelRatio || 1;
  if (canvas._sizeEpoch !== sizeEpoch || !canvas._cssW) {
    canvas._cssW = canvas.clientWidth; canvas._cssH = canvas.clientHeight; canvas._sizeEpoch = sizeEpoch;
  }
  const w = Math.max(1, Math.round(canvas._cssW * ratio));
  const h = Math.max(1, Math.round(canvas._cssH * ratio));
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return { ctx, w: canvas._cssW, h: canvas._cssH };
}

export function niceTicks(low, high, count = 5) {
  const span = high - low;
  if (!(span > 0)) return [low];
  const raw = span / count;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => span / s <= count) || power * 10;
  const ticks = [];
  for (let v = Math.ceil(low / step) * step; v <= high + 1e-9 * span; v += step) ticks.push(+v.toPrecision(6));
  return ticks;
}

export function formatNumber(v, digits = 3) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(Math.max(1, digits - 1));
  return String(+v.toPrecision(digits));
}

/**
 * A line chart. series: [{x: [...], y: [...], color, width}], opts: {log, yLabel, xLabel, yMin}.
 */
export function lineChart(canvas, series, opts = {}) {
  const { ctx, w, h } = fit(canvas);
  ctx.clearRect(0, 0, w, h);
  const left = 40, right = 8, top = 6, bottom = 18;
  const pw = w - left - right, ph = h - top - bottom;
  const tf = opts.log ? (v) => (v > 0 ? Math.log10(v) : NaN) : (v) => v;
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const s of series) {
    for (let i = 0; i < s.x.length; i++) {
      const y = tf(s.y[i]);
      if (!Number.isFinite(y)) continue;
      x0 = Math.min(x0, s.x[i]); x1 = Math.max(x1, s.x[i]);
      y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
  }
  ctx.font = "10px system-ui, sans-serif";
  ctx.fillStyle = "#8a96a3";
  ctx.strokeStyle = "#e6eaee";
  ctx.lineWidth = 1;
  if (!Number.isFinite(x0)) {
    ctx.strokeRect(left + 0.5, top + 0.5, pw, ph);
    ctx.fillText(opts.empty || "no data yet", left + 8, top + ph / 2 + 3);
    return;
  }
  if (opts.yMin !== undefined && !opts.log) y0 = Math.min(y0, opts.yMin);
  if (y1 - y0 < 1e-12) { y1 += opts.log ? 0.5 : Math.abs(y1) * 0.05 + 1e-6; y0 -= opts.log ? 0.5 : 0; }
  if (x1 - x0 < 1e-12) x1 = x0 + 1;
  const pad = (y1 - y0) * 0.06; y1 += pad; if (!(opts.yMin === 0 && !opts.log)) y0 -= pad;
  const X = (v) => left + ((v - x0) / (x1 - x0)) * pw;
  const Y = (v) => top + (1 - (v - y0) / (y1 - y0)) * ph;
  // grid and labels
  ctx.textAlign = "right";
  const yt = opts.log ? niceTicks(Math.floor(y0), Math.ceil(y1), 4).filter((v) => Number.isInteger(v) && v >= y0 && v <= y1)
    : niceTicks(y0, y1, 4);
  for (const v of yt) {
    const y = Math.round(Y(v)) + 0.5;
    ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(left + pw, y); ctx.stroke();
    ctx.fillText(opts.log ? `1e${v}` : formatNumber(v, 3), left - 4, y + 3);
  }
  ctx.textAlign = "center";
  const labelRoom = opts.xLabel ? ctx.measureText(opts.xLabel).width + 14 : 0;
  for (const v of niceTicks(x0, x1, 5)) {
    if (X(v) < left + pw - labelRoom) ctx.fillText(formatNumber(v, 4), X(v), h - 5);
  }
  if (opts.xLabel) { ctx.textAlign = "right"; ctx.fillText(opts.xLabel, left + pw, h - 5); }
  ctx.strokeStyle = "#c9d1d9";
  ctx.strokeRect(left + 0.5, top + 0.5, pw, ph);
  ctx.save();
  ctx.beginPath(); ctx.rect(left, top, pw, ph); ctx.clip();
  for (const s of series) {
    ctx.strokeStyle = s.color; ctx.lineWidth = s.width || 1.5; ctx.lineJoin = "round";
    ctx.globalAlpha = s.alpha ?? 1;
    ctx.setLineDash(s.dash || []);
    ctx.beginPath();
    let pen = false;
    for (let i = 0; i < s.x.length; i++) {
      const y = tf(s.y[i]);
      if (!Number.isFinite(y)) { pen = false; continue; }
      if (pen) ctx.lineTo(X(s.x[i]), Y(y)); else { ctx.moveTo(X(s.x[i]), Y(y)); pen = true; }
    }
    ctx.stroke();
  }
  ctx.globalAlpha = 1;
  ctx.restore();
}

/** Exponential moving average (weight ``keep`` on the past), NaN-safe. */
export function smooth(values, keep = 0.9) {
  let m = null;
  return values.map((v) => {
    if (v === null || !Number.isFinite(v)) return v;
    m = m === null ? v : keep * m + (1 - keep) * v;
    return m;
  });
}

/** The landscape: loss over a grid (rows = y, columns = x), banded like a contour map. */
export function landscapeImage(canvas, grid, xs, ys) {
  const { ctx, w, h } = fit(canvas);
  const ratio = canvas.width / w;
  const W = canvas.width, H = canvas.height;
  const ny = grid.length, nx = grid[0].length;
  let lo = Infinity, hi = -Infinity;
  const logs = grid.map((row) => row.map((v) => { const l = Math.log(Math.max(v ?? Infinity, 1e-12)); if (Number.isFinite(l)) { lo = Math.min(lo, l); hi = Math.max(hi, l); } return l; }));
  if (!(hi > lo)) hi = lo + 1;
  const bands = 16;
  const stops = [[22, 38, 74], [33, 96, 140], [49, 150, 150], [135, 196, 128], [239, 226, 148], [250, 246, 226]];
  const colour = (t) => {
    const u = Math.max(0, Math.min(1, t)) * (stops.length - 1);
    const i = Math.min(stops.length - 2, Math.floor(u));
    return mix(stops[i], stops[i + 1], u - i);
  };
  const image = ctx.createImageData(W, H);
  const band = new Int16Array(W * H);
  for (let py = 0; py < H; py++) {
    // image row 0 is the top: the largest y
    const gy = (1 - py / (H - 1)) * (ny - 1);
    const iy = Math.min(ny - 2, Math.floor(gy)), fy = gy - iy;
    for (let px = 0; px < W; px++) {
      const gx = (px / (W - 1)) * (nx - 1);
      const ix = Math.min(nx - 2, Math.floor(gx)), fx = gx - ix;
      const v = (logs[iy][ix] * (1 - fx) + logs[iy][ix + 1] * fx) * (1 - fy)
        + (logs[iy + 1][ix] * (1 - fx) + logs[iy + 1][ix + 1] * fx) * fy;
      const t = (v - lo) / (hi - lo);
      const b = Number.isFinite(t) ? Math.min(bands - 1, Math.floor(t * bands)) : bands - 1;
      band[py * W + px] = b;
      const c = colour((b + 0.5) / bands);
      const k = (py * W + px) * 4;
      image.data[k] = c[0]; image.data[k + 1] = c[1]; image.data[k + 2] = c[2]; image.data[k + 3] = 255;
    }
  }
  for (let py = 1; py < H; py++) {
    for (let px = 1; px < W; px++) {
      const i = py * W + px;
      if (band[i] !== band[i - 1] || band[i] !== band[i - W]) {
        const k = i * 4;
        image.data[k] *= 0.72; image.data[k + 1] *= 0.72; image.data[k + 2] *= 0.72;
      }
    }
  }
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.putImageData(image, 0, 0);
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return {
    ctx, w, h,
    X: (v) => ((v - xs[0]) / (xs[xs.length - 1] - xs[0])) * w,
    Y: (v) => (1 - (v - ys[0]) / (ys[ys.length - 1] - ys[0])) * h,
    lo: Math.exp(lo), hi: Math.exp(hi),
  };
}
