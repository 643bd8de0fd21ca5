#!/usr/bin/env bash
# Installs glwire system-wide from binaries already built, or removes it again.
#
#   bash scripts/install.sh [--prefix DIR] [--glvnd-dir DIR] [--bin-dir DIR] [--priority NN]
#   bash scripts/install.sh --uninstall [--prefix DIR]
#
# It builds nothing: it takes `glwire` and `libEGL_glwire.so` from target/release (or
# --bin-dir), so run `cargo build --release -p glwire -p icd` first. It installs
#   PREFIX/bin/glwire                       the command line
#   PREFIX/lib/glwire/libEGL_glwire.so      the ICD (libglvnd EGL vendor library)
#   PREFIX/bin/libEGL_glwire.so             a link to it: `glwire run` looks beside its binary
#   GLVND_DIR/NN_glwire.json                the vendor JSON naming the ICD, where libglvnd looks
#   PREFIX/lib/systemd/user/glwire.{socket,service}   the user units (socket activation)
# and records every file and directory it creates, with the files' checksums, in
# PREFIX/lib/glwire/install-manifest. --uninstall removes exactly those (a file changed
# since is kept, a directory something else now uses is kept) and says what it did.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=/usr/local
GLVND_DIR=/usr/share/glvnd/egl_vendor.d
BIN_DIR=$REPO/target/release
# libglvnd asks every vendor for the default display in the order of their JSON file
# names and the first that answers owns it; glwire's ICD always answers. At 60, after
# Mesa's 50_mesa.json (and NVIDIA's 10_nvidia.json), installing glwire never silently
# moves every EGL program on a machine onto glwire: programs keep the local driver, and
# get glwire when they ask for it (`glwire run`, or __EGL_VENDOR_LIBRARY_FILENAMES naming
# the JSON) or when no other vendor answers (a container or VM without a GPU driver,
# the case glwire exists for). An image that has Mesa but should render through glwire
# by default installs with --priority 10.
PRIORITY=60
UNINSTALL=0

die() {
    echo "install.sh: $*" >&2
    exit 1
}

usage() {
    sed -n '2,17s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
    cat <<EOF

Options:
  --prefix DIR     where bin/ and lib/ go (default /usr/local; absolute)
  --glvnd-dir DIR  where the vendor JSON goes (default /usr/share/glvnd/egl_vendor.d)
  --bin-dir DIR    where the built glwire and libEGL_glwire.so are (default target/release)
  --priority NN    two digits that order the vendor JSON among libglvnd's (default 60: after Mesa)
  --uninstall      remove what an earlier install to the same --prefix put in place
EOF
}

while [ $# -gt 0 ]; do
    case $1 in
        --prefix | --glvnd-dir | --bin-dir | --priority)
            [ $# -ge 2 ] || die "$1 needs a value (see --help)"
            case $1 in
                --prefix) PREFIX=$2 ;;
                --glvnd-dir) GLVND_DIR=$2 ;;
                --bin-dir) BIN_DIR=$2 ;;
                --priority) PRIORITY=$2 ;;
            esac
            shift 2
            ;;
        --uninstall) UNINSTALL=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done

# The paths end up in the vendor JSON and in systemd's ExecStart=; refusing the
# characters those would need quoted keeps both files simple and right.
check_path() {
    case $2 in
        /*) ;;
        *) die "$1 must be an absolute path (got '$2')" ;;
    esac
    case $2 in
        *[[:space:]\"\\%]*) die "$1 must not contain spaces, quotes, backslashes or % (got '$2')" ;;
    esac
}
check_path --prefix "$PREFIX"
check_path --glvnd-dir "$GLVND_DIR"
PREFIX=${PREFIX%/}
GLVND_DIR=${GLVND_DIR%/}
[[ $PRIORITY =~ ^[0-9][0-9]$ ]] || die "--priority takes two digits, like 60 (got '$PRIORITY')"

LIB_DIR=$PREFIX/lib/glwire
UNIT_DIR=$PREFIX/lib/systemd/user
MANIFEST=$LIB_DIR/install-manifest

# ---------------------------------------------------------------- uninstall

uninstall() {
    local quiet=${1:-}
    [ -f "$MANIFEST" ] || die "no install manifest at $MANIFEST: nothing to remove (was glwire installed with another --prefix?)"
    local entries line kind sum path i
    mapfile -t entries <"$MANIFEST"
    rm -f -- "$MANIFEST"
    # Newest first: files before the directories that hold them.
    for ((i = ${#entries[@]} - 1; i >= 0; i--)); do
        line=${entries[i]}
        kind=${line%% *}
        case $kind in
            file) sum=${line#file } ; path=${sum#* } ; sum=${sum%% *} ;;
            link | dir) path=${line#* } ;;
            *) echo "install.sh: skipping an unknown manifest line: $line" >&2; continue ;;
        esac
        case $path in
            /*) ;;
            *) echo "install.sh: skipping a manifest line without an absolute path: $line" >&2; continue ;;
        esac
        case $kind in
            file)
                [ -f "$path" ] || continue
                if [ "$(sha256sum -- "$path" | cut -d' ' -f1)" = "$sum" ]; then
                    rm -f -- "$path"
                    [ -n "$quiet" ] || echo "removed $path"
                else
                    echo "kept $path: it changed since glwire installed it"
                fi
                ;;
            link)
                if [ -L "$path" ]; then
                    rm -f -- "$path"
                    [ -n "$quiet" ] || echo "removed $path"
                fi
                ;;
            dir)
                [ -d "$path" ] || continue
                if rmdir -- "$path" 2>/dev/null; then
                    [ -n "$quiet" ] || echo "removed $path/"
                else
                    echo "kept $path/: other files are in it"
                fi
                ;;
        esac
    done
}

if [ "$UNINSTALL" = 1 ]; then
    uninstall
    echo "glwire uninstalled from $PREFIX."
    if command -v systemctl >/dev/null 2>&1; then
        echo "If you enabled the units: systemctl --user disable --now glwire.socket glwire.service; systemctl --user daemon-reload"
    fi
    exit 0
fi

# ---------------------------------------------------------------- install

for f in glwire libEGL_glwire.so; do
    [ -f "$BIN_DIR/$f" ] || die "$BIN_DIR/$f not found: build it first with \`cargo build --release -p glwire -p icd\` (or pass --bin-dir)"
done
for f in glwire.socket glwire.service; do
    [ -f "$REPO/packaging/$f" ] || die "$REPO/packaging/$f is missing: run install.sh from a glwire checkout"
done

# Say it before touching anything: a half-done install helps nobody.
nearest_existing() {
    local d=$1
    while [ ! -e "$d" ]; do d=$(dirname "$d"); done
    printf '%s\n' "$d"
}
for d in "$PREFIX/bin" "$LIB_DIR" "$UNIT_DIR" "$GLVND_DIR"; do
    e=$(nearest_existing "$d")
    [ -d "$e" ] || die "$e is not a directory, so $d cannot be created"
    [ -w "$e" ] || die "cannot write to $e: run with sudo, or choose another --prefix / --glvnd-dir"
done

if [ -f "$MANIFEST" ]; then
    echo "replacing the glwire installed in $PREFIX"
    uninstall quiet
fi

PENDING=()
record() {
    if [ -f "$MANIFEST" ]; then
        printf '%s\n' "$*" >>"$MANIFEST"
    else
        PENDING+=("$*")
    fi
}

# Creates $1 and its missing parents, recording each one it creates.
make_dir() {
    local d=$1 missing=()
    while [ ! -e "$d" ]; do
        missing=("$d" ${missing[@]+"${missing[@]}"})
        d=$(dirname "$d")
    done
    for d in ${missing[@]+"${missing[@]}"}; do
        mkdir -m 0755 -- "$d"
        record dir "$d"
    done
}

# Installs the file $1 as $2 with mode $3 and records it with its checksum.
put_file() {
    [ ! -d "$2" ] || die "$2 is a directory; remove it first"
    install -m "$3" -- "$1" "$2"
    record file "$(sha256sum -- "$2" | cut -d' ' -f1)" "$2"
    echo "installed $2"
}

make_dir "$LIB_DIR"
# The manifest starts with the directories made so far; then every step appends.
: >"$MANIFEST"
for entry in ${PENDING[@]+"${PENDING[@]}"}; do printf '%s\n' "$entry" >>"$MANIFEST"; done
PENDING=()

make_dir "$PREFIX/bin"
make_dir "$UNIT_DIR"
make_dir "$GLVND_DIR"

put_file "$BIN_DIR/glwire" "$PREFIX/bin/glwire" 0755
put_file "$BIN_DIR/libEGL_glwire.so" "$LIB_DIR/libEGL_glwire.so" 0644

# `glwire run` looks for the ICD beside its own binary.
ln -sfn ../lib/glwire/libEGL_glwire.so "$PREFIX/bin/libEGL_glwire.so"
record link "$PREFIX/bin/libEGL_glwire.so"
echo "installed $PREFIX/bin/libEGL_glwire.so -> ../lib/glwire/libEGL_glwire.so"

STAGE=$(mktemp -d)
trap 'rm -rf -- "$STAGE"' EXIT

# An absolute library path: the ICD is not in the dynamic linker's search path.
printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s"}}\n' "$LIB_DIR/libEGL_glwire.so" \
    >"$STAGE/${PRIORITY}_glwire.json"
put_file "$STAGE/${PRIORITY}_glwire.json" "$GLVND_DIR/${PRIORITY}_glwire.json" 0644

for unit in glwire.socket glwire.service; do
    text=$(<"$REPO/packaging/$unit")
    # Quoted replacement: bash 5.2 would otherwise read & in it as the match.
    printf '%s\n' "${text//@BINDIR@/"$PREFIX/bin"}" >"$STAGE/$unit"
    put_file "$STAGE/$unit" "$UNIT_DIR/$unit" 0644
done

echo
echo "glwire installed in $PREFIX (manifest: $MANIFEST)."
if ! compgen -G '/usr/lib/*/libGLdispatch.so.0' >/dev/null && ! compgen -G '/usr/lib*/libGLdispatch.so.0' >/dev/null \
    && ! compgen -G '/lib/*/libGLdispatch.so.0' >/dev/null; then
    echo "note: libglvnd was not found; programs reach glwire's ICD only through libglvnd (Debian: apt-get install libegl1 libgles2)."
fi
echo "Vendor JSON $GLVND_DIR/${PRIORITY}_glwire.json: programs use glwire when no earlier vendor answers, or through"
echo "  glwire run -- PROGRAM   or   __EGL_VENDOR_LIBRARY_FILENAMES=$GLVND_DIR/${PRIORITY}_glwire.json PROGRAM"
echo "Start the server on demand (as your user, not root):"
echo "  systemctl --user daemon-reload && systemctl --user enable --now glwire.socket"
echo "Check everything with: $PREFIX/bin/glwire doctor"
