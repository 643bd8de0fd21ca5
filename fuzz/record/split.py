#!/usr/bin/env python3
"""Turns sessions recorded by proxy.py into seed files for the fuzz targets.

For each recorded connection (OUT/conn-N.c2s + .s2c) of program NAME it writes:
- corpus/decode_validate/rec-NAME-all: the program's whole command stream (every
  SubmitCommands payload after its context id, in order), cut at a command boundary
  to MAX_SEED bytes; and each distinct submission on its own (rec-NAME-sub-K);
- corpus/control/rec-NAME-c2s, rec-NAME-s2c: mode byte 0 or 1, then the transcript
  (hello and requests, or welcome and replies), cut at a message boundary to
  MAX_CONTROL_SEED bytes; and rec-NAME-payload-K: mode byte 2, then one distinct request or reply
  payload other than a command stream; rec-NAME-replies-K: mode byte 3, then the
  reply stream the server sent back for one submission;
- corpus/control_session/rec-NAME: the client transcript alone (no mode byte), which
  that target sends to a real device host.

Usage: split.py RECORD_DIR NAME CORPUS_DIR
"""

import hashlib
import os
import struct
import sys

MAX_SEED = 64 << 10
# Control transcripts and reply streams: enough for a session's opening, the
# configs reply and some command replies.
MAX_CONTROL_SEED = 16 << 10
MAX_SUBMISSIONS = 6
HELLO_SIZE = 96
CONTROL_HEADER = 24
SUBMIT_COMMANDS = 9
REFUSAL_HEADER = 24
WELCOME_SIZE = 56


def cut_commands(stream, limit):
    """The longest prefix of whole commands ([opcode u32][size u32]...) within limit."""
    end = 0
    while end + 8 <= len(stream):
        (size,) = struct.unpack_from("<I", stream, end + 4)
        if size < 8 or end + size > len(stream) or end + size > limit:
            break
        end += size
    return stream[:end]


def requests(c2s):
    """(hello bytes, [(kind, header+payload)]) of a client transcript."""
    if len(c2s) < HELLO_SIZE:
        return c2s, []
    (token_len,) = struct.unpack_from("<I", c2s, 12)
    pos = HELLO_SIZE + token_len
    out = []
    while pos + CONTROL_HEADER <= len(c2s):
        kind, _flags, _rid, plen, _nfds = struct.unpack_from("<IIQII", c2s, pos)
        end = pos + CONTROL_HEADER + plen
        if end > len(c2s):
            break
        out.append((kind, c2s[pos:end]))
        pos = end
    return c2s[:HELLO_SIZE + token_len], out


def replies(s2c):
    if len(s2c) < REFUSAL_HEADER:
        return s2c, []
    (reason,) = struct.unpack_from("<I", s2c, 12)
    if reason == 0:
        pos = WELCOME_SIZE
    else:
        (mlen,) = struct.unpack_from("<I", s2c, 20)
        pos = REFUSAL_HEADER + mlen
    first = s2c[:pos]
    out = []
    while pos + CONTROL_HEADER <= len(s2c):
        _rid, _status, plen, _nfds, _pad = struct.unpack_from("<QIIII", s2c, pos)
        end = pos + CONTROL_HEADER + plen
        if end > len(s2c):
            break
        out.append(s2c[pos:end])
        pos = end
    return first, out


def transcript(first, messages):
    out = bytearray(first)
    for m in messages:
        if len(out) + len(m) > MAX_CONTROL_SEED:
            break
        out += m
    return bytes(out)


def write(path, data, seen):
    digest = hashlib.sha1(data).hexdigest()
    if digest in seen or not data:
        return
    seen.add(digest)
    with open(path, "wb") as f:
        f.write(data)


def main(record_dir, name, corpus):
    dv = os.path.join(corpus, "decode_validate")
    ctl = os.path.join(corpus, "control")
    sess = os.path.join(corpus, "control_session")
    for d in (dv, ctl, sess):
        os.makedirs(d, exist_ok=True)
    seen = set()
    for d in (dv, ctl, sess):
        for f in os.listdir(d):
            seen.add(hashlib.sha1(open(os.path.join(d, f), "rb").read()).hexdigest())
    for f in sorted(os.listdir(record_dir)):
        if not f.endswith(".c2s"):
            continue
        conn = f[:-4]
        c2s = open(os.path.join(record_dir, f), "rb").read()
        s2c_path = os.path.join(record_dir, conn + ".s2c")
        s2c = open(s2c_path, "rb").read() if os.path.exists(s2c_path) else b""
        hello, reqs = requests(c2s)
        welcome, reps = replies(s2c)
        tag = "%s-%s" % (name, conn)
        submissions = [m[CONTROL_HEADER + 8:] for kind, m in reqs if kind == SUBMIT_COMMANDS]
        if submissions:
            write(os.path.join(dv, "rec-%s-all" % tag), cut_commands(b"".join(submissions), MAX_SEED), seen)
            distinct = []
            for s in submissions:
                s = cut_commands(s, MAX_SEED)
                if s and s not in distinct:
                    distinct.append(s)
            # The largest few: they hold the most kinds of command.
            for k, s in enumerate(sorted(distinct, key=len, reverse=True)[:MAX_SUBMISSIONS]):
                write(os.path.join(dv, "rec-%s-sub-%d" % (tag, k)), s, seen)
        # Requests without their command streams (those are decode_validate's).
        small = [m for kind, m in reqs if kind != SUBMIT_COMMANDS or len(m) <= 4096]
        write(os.path.join(ctl, "rec-%s-c2s" % tag), b"\0" + transcript(hello, small), seen)
        write(os.path.join(sess, "rec-%s" % tag), transcript(hello, small), seen)
        write(os.path.join(ctl, "rec-%s-s2c" % tag), b"\1" + transcript(welcome, reps), seen)
        payloads = [m[CONTROL_HEADER:] for kind, m in reqs if kind != SUBMIT_COMMANDS]
        submit_ids = {struct.unpack_from("<Q", m, 8)[0] for kind, m in reqs if kind == SUBMIT_COMMANDS}
        reply_streams = [m[CONTROL_HEADER:] for m in reps if struct.unpack_from("<Q", m, 0)[0] in submit_ids]
        payloads += [
            m[CONTROL_HEADER:]
            for m in reps
            if struct.unpack_from("<Q", m, 0)[0] not in submit_ids and len(m) <= MAX_CONTROL_SEED
        ]
        for k, p in enumerate(payloads):
            write(os.path.join(ctl, "rec-%s-payload-%d" % (tag, k)), b"\2" + p, seen)
        distinct = sorted({r for r in reply_streams if r}, key=len, reverse=True)[:MAX_SUBMISSIONS]
        for k, r in enumerate(distinct):
            write(os.path.join(ctl, "rec-%s-replies-%d" % (tag, k)), b"\3" + cut_commands(r, MAX_CONTROL_SEED), seen)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
