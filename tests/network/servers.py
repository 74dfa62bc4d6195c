#!/usr/bin/python3
# The test network's servers, run by fixture.sh inside the namespace `sbt-net`: on every
# address given, TCP ports 80 and 8080 and UDP port 5300.
#
#   TCP: on accept, sends "hello ADDR PORT\n" (ADDR the address the client reached), then
#        echoes whatever it receives until the client closes.
#   UDP: answers each datagram with "hello ADDR 5300 " + the datagram.
#
#   servers.py [--pidfile=PATH] ADDR...
#
# Prints "ready" once every socket listens.
import os
import selectors
import socket
import sys

TCP_PORTS = (80, 8080)
UDP_PORT = 5300


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def main(addrs):
    sel = selectors.DefaultSelector()
    for addr in addrs:
        for port in TCP_PORTS:
            s = socket.socket(family(addr), socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, port))
            s.listen(128)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, ("listen", addr, port))
        u = socket.socket(family(addr), socket.SOCK_DGRAM)
        u.bind((addr, UDP_PORT))
        u.setblocking(False)
        sel.register(u, selectors.EVENT_READ, ("udp", addr, UDP_PORT))
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            kind, addr, port = key.data
            sock = key.fileobj
            if kind == "listen":
                try:
                    conn, _ = sock.accept()
                except OSError:
                    continue
                conn.setblocking(False)
                try:
                    conn.send(f"hello {addr} {port}\n".encode())
                except OSError:
                    conn.close()
                    continue
                sel.register(conn, selectors.EVENT_READ, ("conn", addr, port))
            elif kind == "conn":
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(sock)
                    sock.close()
                    continue
                try:
                    sock.sendall(data)
                except OSError:
                    sel.unregister(sock)
                    sock.close()
            else:
                try:
                    data, peer = sock.recvfrom(65536)
                    sock.sendto(f"hello {addr} {port} ".encode() + data, peer)
                except OSError:
                    pass


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0].startswith("--pidfile="):
        with open(args.pop(0).split("=", 1)[1], "w") as f:
            f.write(f"{os.getpid()}\n")
    main(args)
