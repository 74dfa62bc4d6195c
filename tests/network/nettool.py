#!/usr/bin/python3
# Network checks for the network tests and bench/network.sh, run inside sandboxes and on the
# host. Standard library only. The tests pass this file's text to `python3 -c` (the sandbox
# need not see the source tree), so it must not depend on its own path.
#
#   nettool.py OP [OP...]        each OP is LABEL,KIND,ARGS... (comma-separated)
#
# Every OP prints one line "LABEL kind=KIND ok=0|1 ms=ELAPSED ..." (values have no spaces):
#
#   L,tcp,HOST,PORT[,4|6]     connect (resolving HOST), read the server's greeting line:
#                             data=hello_ADDR_PORT, or err=ConnectionRefusedError|timeout|...
#   L,udp,HOST,PORT[,4|6]     send a datagram, wait for the answer: data=...
#   L,resolve,NAME[,4|6]      getaddrinfo: addrs=A,B or err=gaierror:CODE
#   L,dns,NAME,TYPE[,SERVER[,PORT]]
#                             one raw query (default: the first nameserver of resolv.conf):
#                             rcode=NOERROR|NXDOMAIN|... answers=A,B (A/AAAA rdata) ttl=MIN
#   L,hold,HOST,PORT,SECONDS  connect, read the greeting, wait SECONDS, then send "ping\n" and
#                             read the echo: data=ping (the connection outlived the wait)
#   L,listen,ADDR,PORT[,N]    listen, print "L listening ...", serve N (default 1) clients
#                             "hello-from-listener\n", then print the line and exit
#   L,connectloop,HOST,PORT,N connect+close N times: median= p90= (ms)
#   L,dnsloop,NAME,N[,SERVER[,PORT]]
#                             N A queries: median= p90= (ms), rcode of the last
#   L,gateway                 default gateways from /proc/net/route, ipv6_route: gw4= gw6=
#   L,ifaces                  interfaces in /proc/net/dev: names=lo,eth0
#   L,sleep,SECONDS
import os
import random
import socket
import statistics
import struct
import sys
import time

TIMEOUT = float(os.environ.get("NETTOOL_TIMEOUT", "5"))


def out(label, kind, ok, t0, **fields):
    ms = (time.monotonic() - t0) * 1000
    extra = " ".join(f"{k}={str(v).replace(' ', '_')}" for k, v in fields.items())
    print(f"{label} kind={kind} ok={1 if ok else 0} ms={ms:.1f} {extra}".rstrip(), flush=True)


def err_name(e):
    if isinstance(e, socket.timeout):
        return "timeout"
    if isinstance(e, socket.gaierror):
        return f"gaierror:{e.errno}"
    return type(e).__name__ + (f":{e.errno}" if getattr(e, "errno", None) else "")


def fam(arg):
    return {"4": socket.AF_INET, "6": socket.AF_INET6}.get(arg or "", socket.AF_UNSPEC)


def addrinfo(host, port, family, socktype):
    h = host[1:-1] if host.startswith("[") else host
    return socket.getaddrinfo(h, port, family, socktype)[0]


def op_tcp(label, host, port, family=None):
    t0 = time.monotonic()
    try:
        af, st, pr, _, sa = addrinfo(host, int(port), fam(family), socket.SOCK_STREAM)
        s = socket.socket(af, st, pr)
        s.settimeout(TIMEOUT)
        s.connect(sa)
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(200)
            if not chunk:
                break
            data += chunk
        s.close()
        text = data.decode(errors="replace").strip()
        out(label, "tcp", bool(text), t0, addr=sa[0], data=text or "(closed)")
    except Exception as e:  # noqa: BLE001 - every failure is a result
        out(label, "tcp", False, t0, err=err_name(e))


def op_udp(label, host, port, family=None):
    t0 = time.monotonic()
    try:
        af, st, pr, _, sa = addrinfo(host, int(port), fam(family), socket.SOCK_DGRAM)
        s = socket.socket(af, st, pr)
        s.settimeout(min(TIMEOUT, 3))
        s.connect(sa)
        s.send(b"ping")
        data = s.recv(2000)
        s.close()
        out(label, "udp", True, t0, addr=sa[0], data=data.decode(errors="replace").strip())
    except Exception as e:  # noqa: BLE001
        out(label, "udp", False, t0, err=err_name(e))


def op_hold(label, host, port, seconds):
    t0 = time.monotonic()
    try:
        af, st, pr, _, sa = addrinfo(host, int(port), socket.AF_UNSPEC, socket.SOCK_STREAM)
        s = socket.socket(af, st, pr)
        s.settimeout(TIMEOUT)
        s.connect(sa)
        s.recv(200)
        time.sleep(float(seconds))
        s.sendall(b"ping\n")
        data = s.recv(200).decode(errors="replace").strip()
        s.close()
        out(label, "hold", data == "ping", t0, addr=sa[0], data=data or "(closed)")
    except Exception as e:  # noqa: BLE001
        out(label, "hold", False, t0, err=err_name(e))


def op_resolve(label, name, family=None):
    t0 = time.monotonic()
    try:
        infos = socket.getaddrinfo(name, 80, fam(family), socket.SOCK_STREAM)
        addrs = sorted({i[4][0] for i in infos})
        out(label, "resolve", True, t0, addrs=",".join(addrs))
    except Exception as e:  # noqa: BLE001
        out(label, "resolve", False, t0, err=err_name(e))


RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
QTYPES = {"A": 1, "AAAA": 28, "TXT": 16, "MX": 15, "ANY": 255}


def default_server():
    try:
        with open("/etc/resolv.conf") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    return parts[1]
    except OSError:
        pass
    return "127.0.0.1"


def dns_query(name, qtype, server, port, timeout=None):
    """Returns (rcode name, [answers]) or raises."""
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for part in name.rstrip(".").split("."):
        q += bytes([len(part)]) + part.encode()
    q += b"\0" + struct.pack(">HH", QTYPES[qtype], 1)
    af = socket.AF_INET6 if ":" in server else socket.AF_INET
    s = socket.socket(af, socket.SOCK_DGRAM)
    s.settimeout(timeout or min(TIMEOUT, 3))
    try:
        s.sendto(q, (server, port))
        while True:
            data, _ = s.recvfrom(4096)
            if len(data) >= 12 and struct.unpack(">H", data[:2])[0] == qid:
                break
    finally:
        s.close()
    _, flags, qd, an, _, _ = struct.unpack(">HHHHHH", data[:12])
    pos = 12

    def skip_name(pos):
        while True:
            n = data[pos]
            if n == 0:
                return pos + 1
            if n & 0xC0 == 0xC0:
                return pos + 2
            pos += n + 1

    for _ in range(qd):
        pos = skip_name(pos) + 4
    answers = []
    ttls = []
    for _ in range(an):
        pos = skip_name(pos)
        rtype, _, ttl, rdlen = struct.unpack(">HHIH", data[pos:pos + 10])
        ttls.append(ttl)
        pos += 10
        rdata = data[pos:pos + rdlen]
        pos += rdlen
        if rtype == 1:
            answers.append(socket.inet_ntop(socket.AF_INET, rdata))
        elif rtype == 28:
            answers.append(socket.inet_ntop(socket.AF_INET6, rdata))
    return RCODES.get(flags & 0xF, str(flags & 0xF)), answers, (min(ttls) if ttls else "-")


def op_dns(label, name, qtype="A", server=None, port="53"):
    t0 = time.monotonic()
    server = server or default_server()
    try:
        rcode, answers, ttl = dns_query(name, qtype, server, int(port))
        out(label, "dns", True, t0, server=server, rcode=rcode, answers=",".join(answers) or "-", ttl=ttl)
    except Exception as e:  # noqa: BLE001
        out(label, "dns", False, t0, server=server, err=err_name(e))


def op_listen(label, addr, port, count="1"):
    t0 = time.monotonic()
    af = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(af, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    s.listen(16)
    print(f"{label} listening addr={addr} port={s.getsockname()[1]}", flush=True)
    served = 0
    for _ in range(int(count)):
        c, peer = s.accept()
        c.sendall(b"hello-from-listener\n")
        c.close()
        served += 1
    out(label, "listen", True, t0, served=served)


def stats(samples):
    samples = sorted(samples)
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.9))]


def op_connectloop(label, host, port, n):
    t0 = time.monotonic()
    af, st, pr, _, sa = addrinfo(host, int(port), socket.AF_UNSPEC, socket.SOCK_STREAM)
    samples, failed = [], 0
    for _ in range(int(n)):
        t = time.monotonic()
        try:
            s = socket.socket(af, st, pr)
            s.settimeout(TIMEOUT)
            s.connect(sa)
            samples.append((time.monotonic() - t) * 1000)
            s.close()
        except OSError:
            failed += 1
    if not samples:
        out(label, "connectloop", False, t0, failed=failed)
        return
    med, p90 = stats(samples)
    out(label, "connectloop", failed == 0, t0, median=f"{med:.3f}", p90=f"{p90:.3f}", n=len(samples), failed=failed)


def op_dnsloop(label, name, n, server=None, port="53"):
    t0 = time.monotonic()
    server = server or default_server()
    samples, rcode, failed = [], "-", 0
    for _ in range(int(n)):
        t = time.monotonic()
        try:
            rcode, _, _ = dns_query(name, "A", server, int(port))
            samples.append((time.monotonic() - t) * 1000)
        except OSError:
            failed += 1
    if not samples:
        out(label, "dnsloop", False, t0, failed=failed)
        return
    med, p90 = stats(samples)
    out(label, "dnsloop", failed == 0 and rcode == "NOERROR", t0, median=f"{med:.3f}", p90=f"{p90:.3f}", rcode=rcode, failed=failed)


def op_gateway(label):
    t0 = time.monotonic()
    gw4 = gw6 = "-"
    try:
        with open("/proc/net/route") as f:
            for line in f.readlines()[1:]:
                p = line.split()
                if p[1] == "00000000" and p[2] != "00000000":
                    gw4 = socket.inet_ntop(socket.AF_INET, struct.pack("<I", int(p[2], 16)))
                    break
    except OSError:
        pass
    try:
        with open("/proc/net/ipv6_route") as f:
            for line in f:
                p = line.split()
                if p[0] == "0" * 32 and p[1] == "00" and p[4] != "0" * 32:
                    gw6 = socket.inet_ntop(socket.AF_INET6, bytes.fromhex(p[4]))
                    break
    except OSError:
        pass
    out(label, "gateway", gw4 != "-" or gw6 != "-", t0, gw4=gw4, gw6=gw6)


def op_ifaces(label):
    t0 = time.monotonic()
    with open("/proc/net/dev") as f:
        names = sorted(line.split(":")[0].strip() for line in f.readlines()[2:])
    out(label, "ifaces", True, t0, names=",".join(names))


def op_sleep(label, seconds):
    t0 = time.monotonic()
    time.sleep(float(seconds))
    out(label, "sleep", True, t0)


OPS = {"tcp": op_tcp, "udp": op_udp, "resolve": op_resolve, "dns": op_dns, "listen": op_listen,
       "hold": op_hold, "connectloop": op_connectloop, "dnsloop": op_dnsloop, "gateway": op_gateway, "ifaces": op_ifaces, "sleep": op_sleep}


def main(args):
    for arg in args:
        parts = arg.split(",")
        if len(parts) < 2 or parts[1] not in OPS:
            print(f"nettool: bad op {arg!r}", file=sys.stderr)
            return 2
        OPS[parts[1]](parts[0], *parts[2:])
    return 0


sys.exit(main(sys.argv[1:]))
