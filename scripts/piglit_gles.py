#!/usr/bin/env python3
"""piglit's OpenGL ES tests, natively and through glwire, side by side.

`list`: prints the names of the GLES tests of piglit's quick profile: those whose
binary links libpiglitutil_gles2/3, plus shader_runner_gles* and glslparsertest_gles2.
`compare NATIVE GLWIRE`: reads two piglit result folders and prints the pass counts of
both runs, rendering tests and compile-only tests apart, and every test that passes
natively but not through glwire, with its result and the first line of its error."""
import bz2
import gzip
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

PIGLIT = "/usr/lib/x86_64-linux-gnu/piglit"
PROFILES = ["quick_gl.xml.gz", "quick_shader.xml.gz", "glslparser.xml.gz"]


def gles_binaries():
    found = set()
    for name in os.listdir(f"{PIGLIT}/bin"):
        path = f"{PIGLIT}/bin/{name}"
        if name.startswith(("shader_runner_gles", "glslparsertest_gles2")):
            found.add(name)
            continue
        try:
            out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True, check=False).stdout
        except OSError:
            continue
        if "libpiglitutil_gles2" in out or "libpiglitutil_gles3" in out:
            found.add(name)
    return found


def tests():
    binaries = gles_binaries()
    for profile in PROFILES:
        with gzip.open(f"{PIGLIT}/tests/{profile}") as f:
            root = ET.parse(f).getroot()
        for test in root.iter("Test"):
            for opt in test.iter("option"):
                if opt.get("name") == "command":
                    command = eval(opt.get("value"))  # the profile's own Python literal
                    if command and os.path.basename(command[0]) in binaries:
                        yield test.get("name"), os.path.basename(command[0])


def load(folder):
    for name in ("results.json.bz2", "results.json"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            opener = bz2.open if name.endswith("bz2") else open
            with opener(path, "rt") as f:
                return json.load(f)["tests"]
    sys.exit(f"no piglit results in {folder}")


def compare(native_dir, glwire_dir):
    native, glwire = load(native_dir), load(glwire_dir)
    kinds = {name: ("compile-only" if binary.startswith("glslparsertest") else "rendering") for name, binary in tests()}
    # "both": native passes that also pass through glwire; the ratio is both / native.
    print(f"{'group':<14} {'tests':>6} {'native pass':>12} {'glwire pass':>12} {'both':>6} {'ratio':>7}")
    worst = 1.0
    for group in ("rendering", "compile-only"):
        names = [n for n, k in kinds.items() if k == group]
        n_pass = [n for n in names if native.get(n, {}).get("result") == "pass"]
        g_pass = [n for n in n_pass if glwire.get(n, {}).get("result") == "pass"]
        ratio = len(g_pass) / len(n_pass) if n_pass else 1.0
        worst = min(worst, ratio)
        all_g = sum(1 for n in names if glwire.get(n, {}).get("result") == "pass")
        print(f"{group:<14} {len(names):>6} {len(n_pass):>12} {all_g:>12} {len(g_pass):>6} {ratio:>6.1%}")
    crashes = [n for n in kinds if glwire.get(n, {}).get("result") == "crash"]
    native_too = [n for n in crashes if native.get(n, {}).get("result") == "crash"]
    print(f"\ntest processes crashed through glwire: {len(crashes)} ({len(native_too)} of them crash natively too)")
    print("\npassing natively, not through glwire:")
    for name in sorted(kinds):
        if native.get(name, {}).get("result") == "pass" and glwire.get(name, {}).get("result") != "pass":
            r = glwire.get(name, {})
            err = (r.get("err") or r.get("out") or "").strip().splitlines()
            reason = err[-1] if err else ""
            print(f"  {name}: {r.get('result', 'missing')}: {reason[:160]}")
    return worst


if __name__ == "__main__":
    if sys.argv[1:2] == ["list"]:
        for name, _ in tests():
            print(name)
    elif sys.argv[1:2] == ["compare"] and len(sys.argv) == 4:
        compare(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
