// echo_dgram.js ADDR PORT - a Node.js dgram UDP echo server (libuv; recvmmsg
// with recvmmsg: true), for tests/t_matrix.sh.  Runs until SIGTERM.
'use strict';
const dgram = require('dgram');
const [addr, port] = process.argv.slice(2);
const s = dgram.createSocket({ type: addr.includes(':') ? 'udp6' : 'udp4', recvmmsg: true });
s.on('message', (msg, rinfo) => s.send(msg, rinfo.port, rinfo.address));
s.bind(Number(port), addr);
