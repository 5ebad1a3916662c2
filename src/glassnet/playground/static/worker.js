// The engine of the documentation site's playground: Pyodide (CPython compiled to
// WebAssembly), NumPy and glassnet, in a Web Worker so the page never waits for it.
// It runs the same glassnet.playground.protocol.Protocol as `glassnet playground`'s server
// (transport.js's WorkerTransport is the page's side). Everything it loads comes from the
// site itself: build.json (written by docs/hooks/playground_site.py) names the files.
/* global importScripts, loadPyodide */
"use strict";

const inbox = [];  // messages that came before Python was ready, or while it was busy
let py = null;     // the Python helpers, once ready
let pumping = false;

const post = (message, transfer) => self.postMessage(message, transfer || []);
const status = (text, fraction) => post({ kind: "status", text, fraction });

// The glue between postMessage and the protocol; all of it runs in Python.
const BOOT = `
import contextlib, io, json, traceback
from glassnet.playground.protocol import Protocol, UploadStore

protocol = Protocol(UploadStore(), frame_rate=30, runner="the playground")

def handle(text):
    return json.dumps(protocol.handle_text(text), allow_nan=False)

def wants_frame():
    return protocol.wants_frame()

def next_frame():
    return json.dumps(protocol.next_frame(), allow_nan=False)

def export(name):
    content, media = protocol.export(name)
    return content, media

def upload(name, data):
    return json.dumps(protocol.upload(name, bytes(data.to_py())))

def run(source):
    """Run a snippet as a script and return what it printed (and its traceback, if any)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            exec(compile(source, "<editor>", "exec"), {"__name__": "__main__"})
        except BaseException:
            traceback.print_exc()
    return out.getvalue()
`;

async function start() {
  const t0 = performance.now();
  const seconds = () => ((performance.now() - t0) / 1000).toFixed(1);
  try {
    const build = await (await fetch("build.json")).json();
    const steps = build.steps;  // [[what, megabytes], ...] in order
    const total = steps.reduce((sum, [, mb]) => sum + mb, 0);
    let done = 0;
    const stage = (i) => {
      status(`Loading ${steps[i][0]} (${steps[i][1].toFixed(1)} MB; step ${i + 1} of ${steps.length}, ${seconds()} s)`, done / total);
    };
    stage(0);
    const indexURL = new URL(build.pyodide, self.location.href).href;
    importScripts(indexURL + "pyodide.js");
    const pyodide = await loadPyodide({ indexURL, stdout: () => {}, stderr: () => {} });
    done += steps[0][1]; stage(1);
    await pyodide.loadPackage("numpy", { messageCallback: () => {}, errorCallback: () => {} });
    done += steps[1][1]; stage(2);
    await pyodide.loadPackage(new URL(build.wheel, self.location.href).href, { messageCallback: () => {}, errorCallback: () => {} });
    done += steps[2][1];
    status(`Starting glassnet's playground session (${seconds()} s)`, done / total);
    pyodide.runPython(BOOT);
    const g = pyodide.globals;
    py = {
      handle: g.get("handle"), wantsFrame: g.get("wants_frame"), nextFrame: g.get("next_frame"),
      export: g.get("export"), upload: g.get("upload"), run: g.get("run"), pyodide,
    };
    post({ kind: "ready", seconds: +seconds() });
    schedule();
  } catch (err) {
    post({ kind: "failed", text: `The playground could not start Python in this browser: ${err.message || err}` });
  }
}

function schedule() {
  if (!pumping) { pumping = true; setTimeout(pump, 0); }
}

// One turn: answer every waiting message, then train one frame if the page has room for it.
// Between turns the worker returns to its event loop, so acks and pauses get in.
function pump() {
  pumping = false;
  if (!py) return;
  try {
    while (inbox.length) answer(inbox.shift());
    if (py.wantsFrame()) {
      post({ kind: "messages", text: py.nextFrame() });
      schedule();
    }
  } catch (err) {  // the protocol answers its own errors; this is a bug in the glue
    const message = `internal error in the playground's worker (${pythonMessage(err)})`;
    post({ kind: "messages", text: JSON.stringify([{ type: "error", message }]) });
  }
}

function answer(d) {
  if (d.kind === "message") {
    post({ kind: "messages", text: py.handle(d.text) });
    return;
  }
  try {
    if (d.kind === "export") {
      const result = py.export(d.name);
      const [content, media] = result.toJs();
      result.destroy();
      const bytes = content instanceof Uint8Array ? content : new Uint8Array(content);
      post({ kind: "reply", id: d.id, value: { bytes, media } }, [bytes.buffer]);
    } else if (d.kind === "upload") {
      post({ kind: "reply", id: d.id, value: JSON.parse(py.upload(d.name, d.bytes)) });
    } else if (d.kind === "run") {
      post({ kind: "reply", id: d.id, value: py.run(d.source) });
    }
  } catch (err) {
    post({ kind: "reply", id: d.id, error: pythonMessage(err) });
  }
}

/** The last line of a Python traceback ("DataError: bad.csv, line 3: ..." → the message). */
function pythonMessage(err) {
  const lines = String(err.message || err).trim().split("\n");
  const last = lines[lines.length - 1];
  const match = last.match(/^[\w.]+(?:Error|Exception): ([\s\S]*)$/);
  return match ? match[1] : last;
}

self.onmessage = (event) => { inbox.push(event.data); schedule(); };
start();
