#!/usr/bin/env python3
"""Records real glwire sessions for the fuzz corpora.

A Unix-socket proxy between glwire's ICD (any program under `glwire run --socket
PROXY`) and a real `glwire serve`. It passes every byte and every descriptor
(SCM_RIGHTS) through unchanged, except one bit: it clears FEATURE_SHM_RINGS in the
server's Welcome, so the client sends its command stream as `SubmitCommands` control
requests on the socket (the path TCP clients use) instead of through shared-memory
rings, where a proxy cannot see it. Everything else — handshake, control requests,
replies, command streams — is what the real client and server exchange.

Each connection is written to OUT/conn-N.c2s (client to server) and OUT/conn-N.s2c
(server to client, as the client saw it). `split.py` turns them into seed files.

Usage: proxy.py LISTEN_SOCKET SERVER_SOCKET OUT_DIR   (runs until killed)
"""

import array
import os
import socket
import struct
import sys
import threading

FEATURE_SHM_RINGS = 1 << 0
WELCOME_SIZE = 56
FEATURES_OFFSET = 16
REASON_OFFSET = 12
MAX_FDS = 16


def recv_with_fds(sock):
    fds = array.array("i")
    data, ancdata, _flags, _addr = sock.recvmsg(1 << 16, socket.CMSG_LEN(MAX_FDS * fds.itemsize))
    for level, kind, cdata in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            usable = len(cdata) - (len(cdata) % fds.itemsize)
            fds.frombytes(cdata[:usable])
    return data, list(fds)


def send_with_fds(sock, data, fds):
    if fds:
        sent = sock.sendmsg([data[:1]], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
        data = data[sent:]
        for fd in fds:
            os.close(fd)
    if data:
        sock.sendall(data)


def pump(src, dst, log, patch_welcome):
    """Copies src to dst until EOF; the first server message may get its Welcome patched."""
    pending = b""
    patched = not patch_welcome
    try:
        while True:
            data, fds = recv_with_fds(src)
            if not data and not fds:
                break
            if not patched:
                pending += data
                # Welcome and refusal share their first 24 bytes; reason 0 is a welcome.
                if len(pending) < 24 or (pending[REASON_OFFSET:REASON_OFFSET + 4] == b"\0\0\0\0"
                                         and len(pending) < WELCOME_SIZE):
                    if fds:
                        for fd in fds:
                            os.close(fd)
                    continue
                if pending[REASON_OFFSET:REASON_OFFSET + 4] == b"\0\0\0\0":
                    (features,) = struct.unpack_from("<Q", pending, FEATURES_OFFSET)
                    pending = (pending[:FEATURES_OFFSET] + struct.pack("<Q", features & ~FEATURE_SHM_RINGS)
                               + pending[FEATURES_OFFSET + 8:])
                data, patched = pending, True
            log.write(data)
            log.flush()
            send_with_fds(dst, data, fds)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(listen_path, server_path, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    if os.path.exists(listen_path):
        os.unlink(listen_path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(listen_path)
    listener.listen(64)
    n = 0
    while True:
        client, _ = listener.accept()
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.connect(server_path)
        n += 1
        base = os.path.join(out_dir, "conn-%04d" % n)
        c2s = open(base + ".c2s", "wb")
        s2c = open(base + ".s2c", "wb")
        threading.Thread(target=pump, args=(client, server, c2s, False), daemon=True).start()
        threading.Thread(target=pump, args=(server, client, s2c, True), daemon=True).start()


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    serve(*sys.argv[1:])
