// The "Try glassnet" page: the editor's code runs in the playground's Web Worker (Pyodide,
// NumPy and glassnet from this site), and what it prints appears below it.
import { WorkerTransport } from "../playground/static/transport.js";

const $ = (id) => document.getElementById(id);
const worker = new WorkerTransport(new URL("../playground/static/worker.js", import.meta.url));
let ready = false;
worker.onstatus = (text, fraction) => {
  if (!text) return;
  $("try-status").textContent = text + (fraction === null || fraction === undefined ? "" : ` (${Math.round(100 * fraction)}%)`);
};
worker.onclose = (text) => { $("try-status").textContent = text; };
worker.onready = () => { ready = true; $("try-status").textContent = "Python is ready."; };
worker.connect(null);

$("try-run").addEventListener("click", async () => {
  const button = $("try-run");
  button.disabled = true;
  $("try-output").textContent = "";
  const started = performance.now();
  $("try-status").textContent = ready ? "Running…" : "Running once Python has loaded…";
  try {
    $("try-output").textContent = await worker.run($("try-source").value);
    $("try-status").textContent = `Done in ${((performance.now() - started) / 1000).toFixed(1)} s.`;
  } catch (err) {
    $("try-output").textContent = String(err.message || err);
    $("try-status").textContent = "Failed.";
  } finally {
    button.disabled = false;
  }
});
$("try-source").addEventListener("keydown", (e) => {  // Tab indents instead of leaving the editor
  if (e.key !== "Tab" || e.shiftKey) return;
  e.preventDefault();
  const t = e.target, at = t.selectionStart;
  t.value = t.value.slice(0, at) + "    " + t.value.slice(t.selectionEnd);
  t.selectionStart = t.selectionEnd = at + 4;
});
