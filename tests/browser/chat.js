"use strict";
// Two people chat through c-examples/chat_server in headless Chromium.
//
//   node tests/browser/chat.js http://127.0.0.1:PORT/
//
// Chromium is driven through the DevTools protocol over a pipe
// (--remote-debugging-pipe: commands on its fd 3, answers on its fd 4,
// each a JSON text ended by a NUL), so nothing but Node and the browser is
// needed and no debugging port is opened. Two tabs open the chat page; the
// script types into them as a person would (focus, text, Enter) and waits
// for what each page shows. It prints the browser's pid first
// ("chromium pid N", the leader of its own process group, so that the
// caller can kill it whatever happens), then each page's conversation
// ("alice| line", "bob| line"), and exits 0 when every expectation was met,
// 1 otherwise. The browser is killed on every way out, and the whole run is
// bounded by EWS_BROWSER_TIMEOUT_MS (default 30000). With
// EWS_BROWSER_SCREENSHOT=file.png, alice's tab is saved there at the end.

const { spawn } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

const url = process.argv[2];
if (!url) {
  console.error("usage: node chat.js http://127.0.0.1:PORT/");
  process.exit(2);
}
const chromium = process.env.EWS_CHROMIUM || "/usr/bin/chromium";
const timeoutMs = Number(process.env.EWS_BROWSER_TIMEOUT_MS || 30000);
const profile = fs.mkdtempSync(path.join(os.tmpdir(), "ews-chromium-"));

// The machine's network is closed: no proxy, no background connections.
const env = Object.assign({}, process.env);
for (const name of ["http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"]) {
  delete env[name];
}
const browser = spawn(
  chromium,
  [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--user-data-dir=" + profile,
    "--remote-debugging-pipe",
    "about:blank",
  ],
  { env, detached: true, stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] },
);
console.log("chromium pid " + browser.pid);

let browserErrors = "";
browser.stderr.on("data", (d) => {
  browserErrors = (browserErrors + d).slice(-4000);
});

let finished = false;
function finish(code, why) {
  if (finished) return;
  finished = true;
  if (why) console.error(why);
  const done = () => {
    fs.rmSync(profile, { recursive: true, force: true });
    process.exit(code);
  };
  // The browser and its helpers (one process group) go first, then their
  // profile, without waiting more than a second for them.
  try {
    process.kill(-browser.pid, "SIGKILL");
  } catch (e) {
    // already gone
  }
  if (browser.exitCode !== null || browser.signalCode !== null) return done();
  browser.on("exit", done);
  setTimeout(done, 1000);
}
// At the time limit the waiting stops (and what the pages show is printed);
// should the browser not even answer then, a second later is the end.
let expired = false;
const timer = setTimeout(() => {
  expired = true;
  setTimeout(() => finish(1, "timed out after " + timeoutMs + " ms"), 1000).unref();
}, timeoutMs);
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => finish(1, "stopped by " + sig));
browser.on("exit", (code, signal) => {
  if (!finished) finish(1, "chromium exited (" + (signal || code) + "):\n" + browserErrors);
});
browser.on("error", (e) => finish(1, "cannot run " + chromium + ": " + e.message));

// ----- the DevTools protocol over the pipe -----

const toBrowser = browser.stdio[3];
const fromBrowser = browser.stdio[4];
// A browser that went away shows in its exit; the pipes just end.
toBrowser.on("error", () => {});
fromBrowser.on("error", () => {});
let nextId = 1;
const pending = new Map();
let received = Buffer.alloc(0);

fromBrowser.on("data", (chunk) => {
  received = Buffer.concat([received, chunk]);
  let end;
  while ((end = received.indexOf(0)) >= 0) {
    const message = JSON.parse(received.subarray(0, end).toString("utf8"));
    received = received.subarray(end + 1);
    const call = message.id !== undefined && pending.get(message.id);
    if (call) {
      pending.delete(message.id);
      if (message.error) call.reject(new Error(call.method + ": " + message.error.message));
      else call.resolve(message.result);
    }
  }
});

function send(method, params, sessionId) {
  const id = nextId++;
  const message = { id, method, params: params || {} };
  if (sessionId) message.sessionId = sessionId;
  return new Promise((resolve, reject) => {
    pending.set(id, { method, resolve, reject });
    toBrowser.write(JSON.stringify(message) + "\0");
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ----- a tab with the chat page -----

class Page {
  constructor(name, sessionId) {
    this.name = name;
    this.session = sessionId;
  }

  static async open(name) {
    const { targetId } = await send("Target.createTarget", { url, newWindow: true });
    const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
    const page = new Page(name, sessionId);
    page.targetId = targetId;
    await page.waitFor("the page to load", "document.readyState === 'complete' && !!document.getElementById('join')");
    return page;
  }

  async eval(expression) {
    const r = await send("Runtime.evaluate", { expression, returnByValue: true }, this.session);
    if (r.exceptionDetails) throw new Error(this.name + ": " + expression + ": " + r.exceptionDetails.text);
    return r.result.value;
  }

  // Polls `expression` until it is true. While the page is still
  // loading there may be no context to evaluate in yet: that is a "no".
  async waitFor(what, expression) {
    for (;;) {
      const yes = await this.eval(expression).catch((e) => {
        if (/execution context/.test(e.message)) return false;
        throw e;
      });
      if (yes) return;
      if (expired) throw new Error("timed out after " + timeoutMs + " ms waiting for " + what);
      await sleep(25);
    }
  }

  // Types `text` into the field with id `field` and presses Enter.
  async type(field, text) {
    await this.eval("document.getElementById(" + JSON.stringify(field) + ").focus()");
    await send("Input.insertText", { text }, this.session);
    const enter = { key: "Enter", code: "Enter", windowsVirtualKeyCode: 13, nativeVirtualKeyCode: 13 };
    await send("Input.dispatchKeyEvent", Object.assign({ type: "keyDown", text: "\r" }, enter), this.session);
    await send("Input.dispatchKeyEvent", Object.assign({ type: "keyUp" }, enter), this.session);
  }

  lines() {
    return this.eval("Array.prototype.map.call(document.querySelectorAll('#log li'), function (li) { return li.textContent; })");
  }

  async shows(line) {
    await this.waitFor(
      this.name + " to show " + JSON.stringify(line),
      "Array.prototype.some.call(document.querySelectorAll('#log li'), function (li) { return li.textContent === " +
        JSON.stringify(line) +
        "; })",
    );
  }

  // Whether the element with id `id` is displayed.
  shown(id) {
    return this.eval("getComputedStyle(document.getElementById(" + JSON.stringify(id) + ")).display !== 'none'");
  }

  async join() {
    if (!(await this.shown("join")) || (await this.shown("say"))) throw new Error(this.name + ": the page does not start with the join form alone");
    await this.type("name", this.name);
    await this.waitFor(this.name + " to be connected", "document.getElementById('status').textContent === 'Connected as " + this.name + ".'");
    if ((await this.shown("join")) || !(await this.shown("say"))) throw new Error(this.name + ": the message form does not replace the join form");
  }

  async say(text) {
    await this.type("text", text);
  }
}

async function conversation() {
  const alice = await Page.open("alice");
  const bob = await Page.open("bob");
  const seen = new Map(); // the conversation each page showed last
  const record = async (p) => seen.set(p, await p.lines());
  try {
    await alice.join();
    await alice.shows("* alice joined");
    await bob.join();
    await bob.shows("* Welcome, bob. Here: alice.");
    await Promise.all([alice, bob].map((p) => p.shows("* bob joined")));

    await alice.say("Hello from alice");
    await Promise.all([alice, bob].map((p) => p.shows("alice: Hello from alice")));
    await bob.say("Hi alice, bob here \u{1F44B}");
    await Promise.all([alice, bob].map((p) => p.shows("bob: Hi alice, bob here \u{1F44B}")));

    // Bob closes his tab: alice hears that he left.
    await record(bob);
    await send("Target.closeTarget", { targetId: bob.targetId });
    bob.closed = true;
    await alice.shows("* bob left");

    const picture = process.env.EWS_BROWSER_SCREENSHOT;
    if (picture) {
      const { data } = await send("Page.captureScreenshot", { format: "png" }, alice.session);
      fs.writeFileSync(picture, Buffer.from(data, "base64"));
    }
  } finally {
    for (const p of [alice, bob]) {
      if (!p.closed) await record(p).catch(() => {});
      for (const line of seen.get(p) || []) console.log(p.name + "| " + line);
    }
  }
}

conversation().then(
  async () => {
    clearTimeout(timer);
    await send("Browser.close").catch(() => {});
    finish(0);
  },
  (e) => finish(1, e.stack || String(e)),
);
