// A WebSocket server on Node `ws`, for the client interop tests.
//
// Listens on 127.0.0.1 on a port the system picks and prints that port on
// the first line of stdout. The request path picks the behaviour:
//
//   /echo          echoes every message with its type (any other path too)
//   /ping          pings ("node-ping"), sends "pong received" on the pong,
//                  and echoes
//   /fragmented    sends the text "fragmented" in three fragments, then echoes
//   /close/<code>  closes with <code> and the reason "bye <code>" at once
//   /abrupt        drops the TCP connection without a close frame
//
// Messages up to 64 MiB; no compression. Exits by itself after
// --lifetime seconds (default 60).
'use strict';
const { WebSocketServer } = require('ws');

const i = process.argv.indexOf('--lifetime');
const lifetime = i > 0 ? Number(process.argv[i + 1]) : 60;

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  maxPayload: 64 << 20,
  perMessageDeflate: false,
});

wss.on('listening', () => console.log(String(wss.address().port)));

wss.on('connection', (ws, req) => {
  const path = req.url;
  if (path.startsWith('/close/')) {
    const code = Number(path.split('/')[2]);
    ws.close(code, `bye ${code}`);
    return;
  }
  if (path === '/abrupt') {
    ws.terminate(); // the socket goes away without a close frame
    return;
  }
  if (path === '/ping') {
    ws.once('pong', () => ws.send('pong received'));
    ws.ping('node-ping');
  }
  if (path === '/fragmented') {
    ws.send('frag', { fin: false });
    ws.send('men', { fin: false });
    ws.send('ted', { fin: true });
  }
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});

setTimeout(() => process.exit(0), lifetime * 1000);
