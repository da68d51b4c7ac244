#!/usr/bin/env python3
"""echo_asyncio.py ADDR PORT - a Python asyncio UDP echo server (loop.create_datagram_endpoint),
for tests/t_matrix.sh.  Runs until SIGTERM."""
import asyncio
import sys


class Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.transport.sendto(data, addr)


async def main():
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(Echo, local_addr=(sys.argv[1], int(sys.argv[2])))
    await asyncio.Event().wait()


asyncio.run(main())
