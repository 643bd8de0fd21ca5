#!/usr/bin/env python3
"""glmark2-es2 natively and through glwire, side by side (used by scripts/glmark2.sh).

    glmark2_compare.py scenes VALIDATE_LOG
        The scene list of a plain glmark2 run, one benchmark description a line
        ("build:use-vbo=false", "jellyfish"), read from a `glmark2-es2 --validate` log
        (validation runs glmark2's default benchmark list and names each with the
        options it sets explicitly, which is how the default list spells them).

    glmark2_compare.py perf SCENES --native LOG... --glwire LOG...
        Per-scene FPS and the glmark2 Score of both sides: a table and the ratios.
        One log per round and side; with several rounds each figure is the side's
        best round (see cmd_perf).

    glmark2_compare.py frames NATIVE_LOG GLWIRE_LOG NATIVE_DIR GLWIRE_DIR [DIFF_DIR]
        The frames of `glmark2-es2 --validate --frame-end swap` (one presented frame
        per scene that set up): NATIVE_DIR/frame-N.ppm (scripts/swapcap.c) against
        GLWIRE_DIR/frame-N.png (`glwire run --capture`), both top-down, compared in
        RGB; glmark2's own Validation result of both runs beside it. A frame that
        does not match gets an amplified difference image in DIFF_DIR.

Each command prints its report and exits 1 when the glwire side fails its criterion
(perf: a scene did not run, or the score is below 90 % of native; frames: a frame is
missing or differs beyond the tolerance), 0 otherwise. Python 3.11 standard library
only: PNG is decoded here (zlib and the five filters; 8-bit RGB/RGBA, not interlaced,
which is what glwire writes).
"""
from __future__ import annotations

import operator
import re
import struct
import sys
import zlib
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

# The score criterion of the issue: glwire's glmark2 Score at least this share of
# native's in the same run.
MIN_SCORE_RATIO = 0.90

# Frame tolerance. Both sides render on the same host Mesa (llvmpipe) with the same
# GLES commands, so the frames should be identical; the tolerance only absorbs
# harmless rounding (e.g. a different but equivalent order of a blend or a
# conversion). A pixel differs when any of R, G, B differs by more than
# PIXEL_TOLERANCE (of 255); a frame matches when fewer than FRAME_TOLERANCE of its
# pixels differ. Alpha is not compared: the X11 window (24-bit visual) shows none.
PIXEL_TOLERANCE = 2
FRAME_TOLERANCE = 0.005  # 0.5 %

# "[build] use-vbo=false: FPS: 312 FrameTime: 3.205 ms" and the like. The options part
# may hold ',' ';' '=' but never ": ", so the first ": " followed by a known result
# ends it.
RESULT = re.compile(
    r"^\[(?P<scene>[^\]]+)\] (?P<opts>.*?): "
    r"(?P<res>FPS: \d+.*|Validation: \w+.*|Set up failed.*|Unsupported.*)$"
)
SCORE = re.compile(r"glmark2 Score: (\d+)")


@dataclass
class Result:
    scene: str
    opts: str  # as glmark2 printed them ("<default>" when none)
    res: str  # what follows ": "

    @property
    def key(self) -> tuple[str, frozenset[str]]:
        return key_of(self.scene, self.opts)

    @property
    def fps(self) -> int | None:
        m = re.match(r"FPS: (\d+)", self.res)
        return int(m.group(1)) if m else None

    @property
    def validation(self) -> str | None:
        m = re.match(r"Validation: (\w+)", self.res)
        return m.group(1) if m else None


def key_of(scene: str, opts: str) -> tuple[str, frozenset[str]]:
    """A benchmark's identity: its scene and its option set, without `duration`
    (the script adds that one) and in any order (glmark2 prints them sorted)."""
    parts = [] if opts in ("", "<default>") else opts.split(":")
    return scene, frozenset(p for p in parts if p and not p.startswith("duration="))


def parse_log(path: Path) -> tuple[list[Result], int | None]:
    results, score = [], None
    for line in path.read_text(errors="replace").splitlines():
        m = RESULT.match(line.strip())
        if m:
            results.append(Result(m["scene"], m["opts"], m["res"].strip()))
            continue
        m = SCORE.search(line)
        if m:
            score = int(m.group(1))
    return results, score


def describe(scene: str, opts: str) -> str:
    return scene if opts in ("", "<default>") else f"{scene}:{opts}"


# ---------------------------------------------------------------- scenes


def cmd_scenes(log: Path) -> int:
    results, _ = parse_log(log)
    if not results:
        print(f"glmark2_compare: no scenes in {log}", file=sys.stderr)
        return 1
    for r in results:
        print(describe(r.scene, r.opts))
    return 0


# ---------------------------------------------------------------- perf


def cmd_perf(scenes_file: Path, native_logs: list[Path], glwire_logs: list[Path]) -> int:
    """With several rounds (logs) per side, a scene's FPS is its best round and a
    side's score its best round's glmark2 Score: on a shared machine, interference
    only ever lowers a figure, so the best of N is the least disturbed one. A scene
    that fails in any glwire round is a failure."""
    scenes = [s.strip() for s in scenes_file.read_text().splitlines() if s.strip()]
    native_runs = [parse_log(p) for p in native_logs]
    glwire_runs = [parse_log(p) for p in glwire_logs]

    def side(runs: list[tuple[list[Result], int | None]], want: tuple[str, frozenset[str]]) -> tuple[int | None, str | None]:
        """(best FPS over the rounds, what a failing round said)."""
        best, failure = None, None
        for results, _ in runs:
            r = next((r for r in results if r.key == want), None)
            if r is None or r.fps is None:
                failure = failure or (r.res if r else "no result (did glmark2 stop?)")
            elif best is None or r.fps > best:
                best = r.fps
        return best, failure

    def best_score(runs: list[tuple[list[Result], int | None]]) -> int | None:
        scores = [s for _, s in runs if s is not None]
        return max(scores) if len(scores) == len(runs) else None

    native_score, glwire_score = best_score(native_runs), best_score(glwire_runs)
    rows, problems = [], []
    for s in scenes:
        scene, _, opts = s.partition(":")
        want = key_of(scene, opts)
        nf, nfail = side(native_runs, want)
        gf, gfail = side(glwire_runs, want)
        ratio = f"{gf / nf:.2f}" if nf and gf is not None else "-"
        note = ""
        if gfail is not None:
            note = f"GLWIRE: {gfail}"
            problems.append(f"{s}: did not run through glwire ({gfail})")
        if nfail is not None:
            note += ("; " if note else "") + f"native: {nfail}"
        rows.append((s, "-" if nf is None else str(nf), "-" if gf is None else str(gf), ratio, note))

    w = max(len(r[0]) for r in rows + [("scene",)])
    print(f"{'scene':<{w}}  {'native':>7}  {'glwire':>7}  {'ratio':>5}")
    print(f"{'':-<{w}}  {'':->7}  {'':->7}  {'':->5}")
    for s, nf, gf, ratio, note in rows:
        print(f"{s:<{w}}  {nf:>7}  {gf:>7}  {ratio:>5}  {note}".rstrip())
    print(f"{'':-<{w}}  {'':->7}  {'':->7}  {'':->5}")
    ns = "-" if native_score is None else str(native_score)
    gs = "-" if glwire_score is None else str(glwire_score)
    sr = f"{glwire_score / native_score:.2f}" if native_score and glwire_score is not None else "-"
    print(f"{'glmark2 Score':<{w}}  {ns:>7}  {gs:>7}  {sr:>5}")

    # Scene FPS ratios as a distribution: the Score is their mean FPS, so a few
    # fast scenes weigh most in it; the median says how a typical scene fares.
    ratios = sorted(int(g) / int(n) for _, n, g, _, _ in rows if n not in ("-", "0") and g != "-")
    if ratios:
        med = ratios[len(ratios) // 2] if len(ratios) % 2 else (ratios[len(ratios) // 2 - 1] + ratios[len(ratios) // 2]) / 2
        print(f"per-scene ratio: min {ratios[0]:.2f}, median {med:.2f}, max {ratios[-1]:.2f} ({len(ratios)} scenes)")

    if native_score is None:
        problems.append("a native run printed no glmark2 Score")
    if glwire_score is None:
        problems.append("a glwire run printed no glmark2 Score")
    elif native_score and glwire_score < MIN_SCORE_RATIO * native_score:
        problems.append(
            f"glwire score {glwire_score} is {glwire_score / native_score:.0%} of native {native_score} "
            f"(needs >= {MIN_SCORE_RATIO:.0%})"
        )
    if problems:
        print("PERF: FAIL")
        for p in problems:
            print(f"  - {p}")
        return 1
    print(f"PERF: PASS (every scene ran through glwire; score ratio {sr} >= {MIN_SCORE_RATIO:.2f})")
    return 0


# ---------------------------------------------------------------- images


def read_ppm(path: Path) -> tuple[int, int, bytes]:
    """Binary PPM (P6, maxval 255) as (width, height, RGB bytes)."""
    data = path.read_bytes()
    fields, pos = [], 2
    if data[:2] != b"P6":
        raise ValueError(f"{path}: not a binary PPM")
    while len(fields) < 3:
        while data[pos : pos + 1].isspace():
            pos += 1
        if data[pos : pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while not data[end : end + 1].isspace():
            end += 1
        fields.append(int(data[pos:end]))
        pos = end
    w, h, maxval = fields
    if maxval != 255:
        raise ValueError(f"{path}: maxval {maxval}, only 255 is read")
    pixels = data[pos + 1 : pos + 1 + w * h * 3]
    if len(pixels) != w * h * 3:
        raise ValueError(f"{path}: truncated")
    return w, h, pixels


def _unfilter_row(ftype: int, raw: bytes, prev: bytes, bpp: int) -> bytes:
    """One PNG scanline reconstructed (RFC 2083 §6). None, Sub and Up run at C speed
    through map/accumulate; Average and Paeth need a Python loop."""
    if ftype == 0:
        return raw
    if ftype == 1:  # Sub: each channel is a running sum mod 256
        out = bytearray(len(raw))
        for c in range(bpp):
            out[c::bpp] = bytes(map((255).__and__, accumulate(raw[c::bpp])))
        return bytes(out)
    if ftype == 2:  # Up
        return bytes(map((255).__and__, map(operator.add, raw, prev)))
    out = bytearray(raw)
    n = len(raw)
    if ftype == 3:  # Average
        for i in range(n):
            a = out[i - bpp] if i >= bpp else 0
            out[i] = (out[i] + ((a + prev[i]) >> 1)) & 255
        return bytes(out)
    if ftype == 4:  # Paeth
        for i in range(n):
            b = prev[i]
            if i >= bpp:
                a = out[i - bpp]
                c = prev[i - bpp]
            else:
                a = c = 0
            p = a + b - c
            pa = abs(p - a)
            pb = abs(p - b)
            pc = abs(p - c)
            if pa <= pb and pa <= pc:
                pred = a
            elif pb <= pc:
                pred = b
            else:
                pred = c
            out[i] = (out[i] + pred) & 255
        return bytes(out)
    raise ValueError(f"PNG filter type {ftype}")


def read_png(path: Path) -> tuple[int, int, bytes]:
    """8-bit RGB or RGBA PNG, not interlaced, as (width, height, RGB bytes)."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat, ihdr = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if ctype == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif ctype == b"IDAT":
            idat.append(body)
        elif ctype == b"IEND":
            break
    if ihdr is None:
        raise ValueError(f"{path}: no IHDR")
    w, h, depth, color, _comp, _filt, interlace = ihdr
    if depth != 8 or color not in (2, 6) or interlace != 0:
        raise ValueError(f"{path}: depth {depth} color type {color} interlace {interlace}: only 8-bit RGB/RGBA, not interlaced")
    bpp = 4 if color == 6 else 3
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    if len(raw) < h * (stride + 1):
        raise ValueError(f"{path}: image data truncated")
    rows, prev = [], bytes(stride)
    for y in range(h):
        start = y * (stride + 1)
        prev = _unfilter_row(raw[start], raw[start + 1 : start + 1 + stride], prev, bpp)
        rows.append(prev)
    pixels = b"".join(rows)
    if bpp == 4:  # drop alpha
        rgb = bytearray(w * h * 3)
        for c in range(3):
            rgb[c::3] = pixels[c::4]
        pixels = bytes(rgb)
    return w, h, pixels


def read_image(path: Path) -> tuple[int, int, bytes]:
    return read_png(path) if path.suffix == ".png" else read_ppm(path)


def compare(a: bytes, b: bytes, w: int) -> tuple[int, int, bytearray]:
    """(max channel difference, pixels differing by more than PIXEL_TOLERANCE, a
    per-pixel mask of those). Rows that are byte-identical are skipped at C speed."""
    stride = w * 3
    max_diff, differing = 0, 0
    mask = bytearray(len(a) // 3)
    for y in range(len(a) // stride):
        ra, rb = a[y * stride : (y + 1) * stride], b[y * stride : (y + 1) * stride]
        if ra == rb:
            continue
        d = list(map(abs, map(operator.sub, ra, rb)))
        max_diff = max(max_diff, max(d))
        for x in range(w):
            if d[3 * x] > PIXEL_TOLERANCE or d[3 * x + 1] > PIXEL_TOLERANCE or d[3 * x + 2] > PIXEL_TOLERANCE:
                differing += 1
                mask[y * w + x] = 1
    return max_diff, differing, mask


def write_diff(path: Path, w: int, h: int, native: bytes, glwire: bytes, mask: bytearray) -> None:
    """The native frame dimmed, with the differing pixels in red: where to look."""
    out = bytearray(b // 3 for b in native)
    for i, m in enumerate(mask):
        if m:
            out[3 * i : 3 * i + 3] = b"\xff\x00\x00"
    path.write_bytes(b"P6\n%d %d\n255\n" % (w, h) + bytes(out))


# ---------------------------------------------------------------- frames


def frames_of(results: list[Result]) -> list[tuple[Result, int | None]]:
    """Each validated scene with the number of the frame it presented: scenes that
    did not set up draw nothing, the others present exactly one frame each, in
    order (glmark2 --validate --frame-end swap)."""
    out, n = [], 0
    for r in results:
        if r.validation is not None:
            n += 1
            out.append((r, n))
        else:
            out.append((r, None))
    return out


def find_frame(directory: Path, n: int, exts: tuple[str, ...]) -> Path | None:
    for ext in exts:
        p = directory / f"frame-{n:06d}.{ext}"
        if p.exists():
            return p
    return None


def cmd_frames(native_log: Path, glwire_log: Path, native_dir: Path, glwire_dir: Path, diff_dir: Path | None) -> int:
    native = frames_of(parse_log(native_log)[0])
    glwire = {r.key: (r, n) for r, n in frames_of(parse_log(glwire_log)[0])}
    n_native_files = len(list(native_dir.glob("frame-*.p?m")))
    n_glwire_files = len(list(glwire_dir.glob("frame-*.png")))
    print(
        f"tolerance: a pixel differs when any of R,G,B differs by more than {PIXEL_TOLERANCE}/255; "
        f"a frame matches when < {FRAME_TOLERANCE:.1%} of its pixels differ"
    )
    print(f"frames captured: native {n_native_files} (swapcap), glwire {n_glwire_files} (glwire run --capture)")

    rows, problems, compared, matched = [], [], 0, 0
    for r, nn in native:
        name = describe(r.scene, r.opts)
        g, gn = glwire.get(r.key, (None, None))
        nval = r.validation or r.res
        gval = (g.validation or g.res) if g else "no result"
        if nn is None:
            rows.append((name, nval, gval, "-", "-", "-", "native did not set up: not compared"))
            continue
        if gn is None:
            rows.append((name, nval, gval, "-", "-", "-", "NO FRAME through glwire"))
            problems.append(f"{name}: no frame through glwire ({gval})")
            continue
        if gn != nn:
            # Frame numbers differ when a scene set up on one side only; pairing by
            # scene keeps the comparison right, but say so.
            print(f"note: {name} is native frame {nn}, glwire frame {gn}")
        npath = find_frame(native_dir, nn, ("ppm", "pam"))
        gpath = find_frame(glwire_dir, gn, ("png",))
        if npath is None or gpath is None:
            missing = "native" if npath is None else "glwire"
            rows.append((name, nval, gval, "-", "-", "-", f"{missing} frame file missing"))
            problems.append(f"{name}: {missing} frame {nn if npath is None else gn} file missing")
            continue
        nw, nh, npx = read_image(npath)
        gw, gh, gpx = read_image(gpath)
        if (nw, nh) != (gw, gh):
            rows.append((name, nval, gval, f"{nw}x{nh}/{gw}x{gh}", "-", "-", "SIZE DIFFERS"))
            problems.append(f"{name}: native frame {nw}x{nh}, glwire {gw}x{gh}")
            continue
        compared += 1
        max_diff, differing, mask = compare(npx, gpx, nw)
        share = differing / (nw * nh)
        ok = share < FRAME_TOLERANCE
        matched += ok
        verdict = "match" if ok else "DIFFERS"
        if max_diff == 0:
            verdict = "identical"
        if not ok:
            problems.append(f"{name}: {share:.2%} of pixels differ (max channel difference {max_diff})")
            if diff_dir is not None:
                diff_dir.mkdir(parents=True, exist_ok=True)
                write_diff(diff_dir / f"diff-{nn:06d}.ppm", nw, nh, npx, gpx, mask)
        rows.append((name, nval, gval, f"{nw}x{nh}", str(max_diff), f"{share:.2%}", verdict))

    w = min(max(len(r[0]) for r in rows), 60)
    head = ("scene", "native valid.", "glwire valid.", "size", "maxdiff", "differ", "frame")
    print(f"{head[0]:<{w}}  {head[1]:<13}  {head[2]:<13}  {head[3]:>7}  {head[4]:>7}  {head[5]:>7}  {head[6]}")
    for name, nval, gval, size, md, share, verdict in rows:
        name = name if len(name) <= w else name[: w - 1] + "…"
        print(f"{name:<{w}}  {nval:<13}  {gval:<13}  {size:>7}  {md:>7}  {share:>7}  {verdict}")

    # glmark2's own verdicts: a scene that validates natively should validate
    # through glwire too (its check reads pixels back after the swap).
    for r, _ in native:
        g = glwire.get(r.key, (None, None))[0]
        if r.validation == "Success" and (g is None or g.validation != "Success"):
            problems.append(f"{describe(r.scene, r.opts)}: glmark2 validation Success natively, {g.res if g else 'no result'} through glwire")

    if compared < 3:
        problems.append(f"only {compared} scenes compared (at least 3 needed)")
    if problems:
        print(f"FRAMES: FAIL ({matched} of {compared} compared frames match)")
        for p in problems:
            print(f"  - {p}")
        return 1
    print(f"FRAMES: PASS ({matched} of {compared} compared frames match)")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "scenes":
        return cmd_scenes(Path(argv[1]))
    if len(argv) >= 6 and argv[0] == "perf" and argv[2] == "--native" and "--glwire" in argv[4:]:
        split = argv.index("--glwire", 4)
        return cmd_perf(Path(argv[1]), list(map(Path, argv[3:split])), list(map(Path, argv[split + 1 :])))
    if len(argv) in (5, 6) and argv[0] == "frames":
        paths = list(map(Path, argv[1:]))
        return cmd_frames(paths[0], paths[1], paths[2], paths[3], paths[4] if len(paths) == 5 else None)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
