// How the page reaches the engine. Two transports with one interface, so app.js does not
// know which it has:
//   connect(hello)      open, then send the hello message (none: no playground session)
//   send(message)       a message for glassnet.playground.protocol.Protocol
//   onmessage(message)  each message the engine sends back
//   onstatus(text, f)   what is loading and how far (f in [0, 1], null: unknown); "" when done
//   onclose(text)       the engine is gone, and why
//   onready()           the engine is ready (the worker: Python has loaded)
//   export(name)        a Promise of the export file `name` as a Blob
//   upload(file)        a Promise of what the engine read from a CSV File, or an Error
// WebSocketTransport talks to `glassnet playground` (the local server); WorkerTransport runs
// the same Python, glassnet and NumPy under Pyodide, in a Web Worker (static/worker.js).

class Transport {
  constructor() {
    this.onmessage = () => {};
    this.onstatus = () => {};
    this.onclose = () => {};
    this.onready = () => {};
  }
}

export class WebSocketTransport extends Transport {
  connect(hello) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    this.ws = new WebSocket(`${scheme}://${location.host}/ws`);
    this.onstatus("Connecting to the playground server…", null);
    this.ws.addEventListener("open", () => { this.onstatus("", 1); this.send(hello); });
    this.ws.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "hello") this.session = message.session;
      this.onmessage(message, event.data.length);
    });
    this.ws.addEventListener("close", () => this.onclose(
      "The playground server has stopped. Start it again (glassnet playground) and reload this page."));
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  async export(name) {
    const response = await fetch(`/api/session/${this.session}/${name}`);
    if (!response.ok) throw new Error((await response.json()).error || `export failed (${response.status})`);
    return response.blob();
  }

  async upload(file) {
    const response = await fetch("/api/upload", {
      method: "POST", body: file,
      headers: { "X-Glassnet": "upload", "X-Filename": encodeURIComponent(file.name), "Content-Type": "application/octet-stream" },
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error || `upload failed (${response.status})`);
    return answer;
  }
}

export class WorkerTransport extends Transport {
  constructor(url) {
    super();
    this.url = url;
    this.calls = new Map();
    this.nextCall = 1;
  }

  connect(hello) {
    this.worker = new Worker(this.url);
    this.worker.addEventListener("message", (event) => {
      const d = event.data;
      if (d.kind === "messages") {
        JSON.parse(d.text).forEach((message, i) => this.onmessage(message, i ? 0 : d.text.length));
      } else if (d.kind === "status") {
        this.onstatus(d.text, d.fraction);
      } else if (d.kind === "ready") {
        this.onstatus("", 1);
        this.onready(d);
      } else if (d.kind === "failed") {
        this.onclose(d.text);
      } else if (d.kind === "reply") {
        const call = this.calls.get(d.id);
        this.calls.delete(d.id);
        if (d.error !== undefined) call.reject(new Error(d.error));
        else call.resolve(d.value);
      }
    });
    this.worker.addEventListener("error", (event) => this.onclose(`The playground's worker failed: ${event.message}`));
    if (hello) this.send(hello);  // the worker keeps it until Python is ready
  }

  send(message) {
    this.worker.postMessage({ kind: "message", text: JSON.stringify(message) });
  }

  call(kind, fields, transfer = []) {
    const id = this.nextCall++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      this.worker.postMessage({ kind, id, ...fields }, transfer);
    });
  }

  async export(name) {
    const { bytes, media } = await this.call("export", { name });
    return new Blob([bytes], { type: media });
  }

  async upload(file) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    return this.call("upload", { name: file.name, bytes }, [bytes.buffer]);
  }

  /** Run Python source in the worker (the "Try glassnet" page): a Promise of its output. */
  run(source) {
    return this.call("run", { source });
  }
}

/** The transport this page was built for: the static build marks its page `data-transport="worker"`. */
export function openTransport() {
  if (document.documentElement.dataset.transport === "worker") {
    return new WorkerTransport(new URL("worker.js", import.meta.url));
  }
  return new WebSocketTransport();
}
