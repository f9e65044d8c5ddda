// Drives an echo server with the Node `ws` client.
//
//     node node_client.js PORT CASE...
//
// Each case runs on its own connection(s) to ws://127.0.0.1:PORT/ and
// prints `ok CASE` or `FAIL CASE: why`. The exit status is 0 only when
// every case passed. Every network operation has a timeout, and a watchdog
// ends the process if the whole run takes too long.
'use strict';

const crypto = require('crypto');
const WebSocket = require('ws');

const TIMEOUT = 20000; // ms, for any single network operation
const WATCHDOG = 55000; // ms, for the whole run
// The largest message sent (the cases go up to 16 MiB; less for a server
// under valgrind).
const MAX_MESSAGE = Number(process.env.EWS_INTEROP_MAX_MESSAGE || 16 << 20);
const BIG = Math.min(16 << 20, MAX_MESSAGE);

let PORT = 0;

class Mismatch extends Error {}

function expect(cond, what) {
  if (!cond) throw new Mismatch(what);
}

function withTimeout(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Mismatch(`timed out: ${what}`)), TIMEOUT);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// A client whose incoming events are queued, so a case can await them in
// order: { type: 'message', data, isBinary }, { type: 'ping' | 'pong',
// data }, { type: 'close', code, reason }, { type: 'error', error }.
class Client {
  constructor(ws) {
    this.ws = ws;
    this.events = [];
    this.waiters = [];
    ws.on('message', (data, isBinary) => this.push({ type: 'message', data, isBinary }));
    ws.on('pong', (data) => this.push({ type: 'pong', data }));
    ws.on('ping', (data) => this.push({ type: 'ping', data }));
    ws.on('close', (code, reason) => this.push({ type: 'close', code, reason: reason.toString() }));
    ws.on('error', (error) => this.push({ type: 'error', error }));
  }

  push(event) {
    const w = this.waiters.shift();
    if (w) w(event);
    else this.events.push(event);
  }

  next(what) {
    if (this.events.length) return Promise.resolve(this.events.shift());
    return withTimeout(new Promise((resolve) => this.waiters.push(resolve)), what);
  }

  // The next event that is not an error report (ws reports a protocol
  // error it detects itself and then the close).
  async nextNonError(what) {
    for (;;) {
      const e = await this.next(what);
      if (e.type !== 'error') return e;
    }
  }

  send(data, options) {
    return withTimeout(
      new Promise((resolve, reject) => this.ws.send(data, options || {}, (err) => (err ? reject(err) : resolve()))),
      'send'
    );
  }

  // Sends a frame that makes the server close the connection; the close
  // may arrive before the send completes, so a send error is not a failure.
  sendIgnoringClose(data, options) {
    return withTimeout(new Promise((resolve) => this.ws.send(data, options, () => resolve())), 'send');
  }

  async close(code, reason) {
    this.ws.close(code, reason);
    const e = await this.nextNonError('close');
    expect(e.type === 'close', `expected the close, got ${e.type}`);
    return e;
  }
}

function open() {
  return withTimeout(
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${PORT}/`, {
        maxPayload: 64 << 20,
        perMessageDeflate: true, // offered; the server does not take it
        handshakeTimeout: TIMEOUT,
      });
      const client = new Client(ws);
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    }),
    'connect'
  );
}

function describe(data, isBinary) {
  return `${isBinary ? 'binary' : 'text'} of ${data.length} bytes`;
}

async function expectMessage(client, data, isBinary, what) {
  const e = await client.next(what);
  expect(e.type === 'message', `${what}: expected a message, got ${e.type}${e.code ? ' ' + e.code : ''}`);
  expect(e.isBinary === isBinary, `${what}: sent ${describe(data, isBinary)}, got ${describe(e.data, e.isBinary)}`);
  expect(Buffer.compare(e.data, data) === 0, `${what}: ${describe(data, isBinary)} came back different`);
}

async function echo(client, data, isBinary) {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
  await client.send(buf, { binary: isBinary });
  await expectMessage(client, buf, isBinary, `echo of ${describe(buf, isBinary)}`);
}

// A UTF-8 text of exactly `size` bytes mixing 1- to 4-byte characters.
function textOf(size) {
  const unit = 'aé€😀'; // 1 + 2 + 3 + 4 bytes
  return Buffer.from(unit.repeat(Math.floor(size / 10)) + 'x'.repeat(size % 10));
}

function binaryOf(size) {
  return crypto.randomBytes(size);
}

async function expectClosedWith(client, code, what) {
  const e = await client.nextNonError(what);
  expect(e.type === 'close', `${what}: expected close ${code}, got ${e.type}`);
  expect(e.code === code, `${what}: close code ${e.code}, expected ${code}`);
}

const SIZES = [0, 1, 125, 126, 127, 65535, 65536, 1 << 20, 16 << 20].filter((n) => n <= MAX_MESSAGE);

const CASES = {
  async text_sizes() {
    const c = await open();
    for (const size of SIZES) await echo(c, textOf(size), false);
    await c.close(1000);
  },

  async binary_sizes() {
    const c = await open();
    for (const size of SIZES) await echo(c, binaryOf(size), true);
    await c.close(1000);
  },

  async pipelined() {
    const c = await open();
    const messages = [];
    for (let i = 0; i < 100; i++) messages.push([i % 2 ? textOf(i) : binaryOf(i), i % 2 === 0]);
    await Promise.all(messages.map(([m, b]) => c.send(m, { binary: b })));
    for (const [i, [m, b]] of messages.entries()) await expectMessage(c, m, b, `reply ${i}`);
    await c.close(1000);
  },

  // 20 clients at once, each echoing 50 messages of up to 100 kB.
  async concurrent() {
    const sizes = [0, 1, 125, 126, 1000, 65536, 100000];
    const client = async (n) => {
      const c = await open();
      for (let i = 0; i < 50; i++) {
        const size = sizes[(n * 7 + i) % sizes.length];
        await echo(c, i % 2 ? textOf(size) : binaryOf(size), i % 2 === 0);
      }
      await c.close(1000);
    };
    await Promise.all(Array.from({ length: 20 }, (_, n) => client(n)));
  },

  async fragmented() {
    const c = await open();
    // Text cut inside multi-byte characters.
    const text = textOf(1000);
    for (let i = 0; i < text.length; i += 7) {
      await c.send(text.subarray(i, i + 7), { binary: false, fin: i + 7 >= text.length });
    }
    await expectMessage(c, text, false, 'fragmented text');
    // Binary with an empty fragment, and a ping between fragments: the
    // pong comes first, then the whole message.
    const data = binaryOf(300000);
    await c.send(data.subarray(0, 1), { binary: true, fin: false });
    await c.send(Buffer.alloc(0), { binary: true, fin: false });
    c.ws.ping(Buffer.from('between fragments'));
    await c.send(data.subarray(1, 70000), { binary: true, fin: false });
    await c.send(data.subarray(70000), { binary: true, fin: true });
    const pong = await c.next('pong between fragments');
    expect(pong.type === 'pong' && pong.data.toString() === 'between fragments', `expected the pong, got ${pong.type}`);
    await expectMessage(c, data, true, 'fragmented binary');
    // 16 MiB in 1 MiB fragments.
    const big = binaryOf(BIG);
    for (let i = 0; i < big.length; i += 1 << 20) {
      await c.send(big.subarray(i, i + (1 << 20)), { binary: true, fin: i + (1 << 20) >= big.length });
    }
    await expectMessage(c, big, true, `${big.length} bytes in fragments`);
    await c.close(1000);
  },

  async ping() {
    const c = await open();
    for (const payload of [Buffer.alloc(0), Buffer.from('x'), Buffer.from('ping payload'), binaryOf(125)]) {
      c.ws.ping(payload);
      const e = await c.next('pong');
      expect(e.type === 'pong', `expected a pong, got ${e.type}`);
      expect(Buffer.compare(e.data, payload) === 0, `pong payload differs from the ping's (${payload.length} bytes)`);
    }
    await echo(c, 'after pings', false);
    await c.close(1000);
  },

  async close_codes() {
    for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]) {
      const c = await open();
      await echo(c, `before close ${code}`, false);
      const e = await c.close(code, 'bye');
      expect(e.code === code, `close ${code}: the server answered ${e.code}`);
    }
    // A close frame without a code is answered without one (1005 here).
    const c = await open();
    const e = await c.close();
    expect(e.code === 1005, `empty close: the server answered ${e.code}`);
  },

  async disappear() {
    const survivor = await open();
    await echo(survivor, 'before', false);
    // Sockets destroyed while 16 MiB messages are being written.
    for (let i = 0; i < 3; i++) {
      const c = await open();
      c.ws.send(binaryOf(BIG));
      await new Promise((r) => setTimeout(r, 5 * i));
      c.ws.terminate();
    }
    // A fragmented message that never ends.
    const c = await open();
    await c.send(binaryOf(1000), { binary: true, fin: false });
    c.ws.terminate();
    await new Promise((r) => setTimeout(r, 200));
    await echo(survivor, 'after', false);
    await echo(survivor, binaryOf(1 << 20), true);
    const fresh = await open();
    await echo(fresh, 'a new client is served', false);
    await fresh.close(1000);
    await survivor.close(1000);
  },

  async invalid_utf8() {
    // ws sends a Buffer given with binary: false as it is.
    for (const [name, bytes] of [
      ['lone continuation byte', [0x61, 0x80]],
      ['overlong encoding', [0xc0, 0xaf]],
      ['surrogate', [0xed, 0xa0, 0x80]],
      ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
      ['truncated sequence', [0x6f, 0x6b, 0xe2, 0x82]],
    ]) {
      const c = await open();
      await c.sendIgnoringClose(Buffer.from(bytes), { binary: false });
      await expectClosedWith(c, 1007, name);
    }
    const c = await open();
    await c.send(Buffer.from([0xe2, 0x82]), { binary: false, fin: false });
    await c.sendIgnoringClose(Buffer.from([0x28]), { binary: false, fin: true });
    await expectClosedWith(c, 1007, 'bad sequence across fragments');
    const ok = await open();
    await echo(ok, 'still serving', false);
    await ok.close(1000);
  },

  async unmasked() {
    // ws sends an unmasked client frame when asked to.
    for (const binary of [false, true]) {
      const c = await open();
      await c.sendIgnoringClose(Buffer.from('not masked'), { binary, mask: false });
      await expectClosedWith(c, 1002, `unmasked ${binary ? 'binary' : 'text'} frame`);
    }
    const c = await open();
    c.ws.ping(Buffer.from('unmasked ping'), false);
    await expectClosedWith(c, 1002, 'unmasked ping');
    const ok = await open();
    await echo(ok, 'still serving', false);
    await ok.close(1000);
  },
};

async function main() {
  const args = process.argv.slice(2);
  if (args.length < 2) {
    console.error(`usage: node node_client.js PORT CASE...  (cases: ${Object.keys(CASES).join(' ')})`);
    process.exit(2);
  }
  PORT = Number(args[0]);
  setTimeout(() => {
    console.log('FAIL watchdog: the run took too long');
    process.exit(3);
  }, WATCHDOG).unref();
  let failed = 0;
  for (const name of args.slice(1)) {
    if (!CASES[name]) {
      console.error(`unknown case ${name}`);
      process.exit(2);
    }
    const started = Date.now();
    try {
      await CASES[name]();
      console.log(`ok ${name} (${((Date.now() - started) / 1000).toFixed(2)} s)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
    }
  }
  process.exit(failed ? 1 : 0);
}

main();
