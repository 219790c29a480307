#!/usr/bin/env bash
# Makes .blender43/: a minimal Debian 13 (trixie) root with Debian's GUI Blender 4.3.2,
# Xvfb and python3-numpy, for the tests that install the linux-x64 extension zip into a
# Blender whose sys.executable is the system's Python 3.13 (tests/blender/test_blender43.py).
# Called by `scripts/setup.sh --tests`; needs root (debootstrap, chroot, mount); safe to
# run again (a stamp records a finished root; an unfinished one is made anew).
set -euo pipefail
cd "$(dirname "$0")/.."

ROOT=${BLENDER43_ROOT:-$PWD/.blender43}
# The mirror this machine's apt already uses for Debian (its sources name it).
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PACKAGES="blender xvfb xauth python3-numpy"
STAMP="$ROOT/.vstream-ready"
WANT="trixie $PACKAGES"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup_blender43: needs root (debootstrap and chroot); not made, so the Blender 4.3 tests fail saying so" >&2
  exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  echo "setup: installing debootstrap"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

# Whatever happens below, nothing stays mounted in the root (debootstrap mounts proc and sys too).
unmount_all() {
  for m in dev/pts dev sys proc; do
    mountpoint -q "$ROOT/$m" 2>/dev/null && umount -l "$ROOT/$m" || true
  done
}
trap unmount_all EXIT
unmount_all

# Removes the root to make it anew, never through a mount (a bound /dev would be the machine's own).
remove_root() {
  unmount_all
  if grep -q " $ROOT/" /proc/mounts; then
    echo "setup_blender43: something is still mounted below $ROOT; unmount it first" >&2
    exit 1
  fi
  rm -rf "$ROOT"
}

if [ ! -x "$ROOT/usr/bin/apt-get" ] || [ ! -f "$ROOT/.debootstrap-done" ]; then
  remove_root
  echo "setup: making a minimal Debian 13 root in $ROOT (debootstrap)"
  # A second try on a network hiccup (a failed CI setup would block every test).
  debootstrap --variant=minbase trixie "$ROOT" "$MIRROR" >/tmp/vstream-debootstrap.log 2>&1 \
    || { echo "setup: debootstrap failed, trying again" >&2; remove_root;
         debootstrap --variant=minbase trixie "$ROOT" "$MIRROR" >/tmp/vstream-debootstrap.log 2>&1; } \
    || { tail -20 /tmp/vstream-debootstrap.log >&2; exit 1; }
  # Blender lists mounted file systems from /etc/mtab (minbase has none).
  ln -sf /proc/self/mounts "$ROOT/etc/mtab"
  touch "$ROOT/.debootstrap-done"
fi

mount --bind /proc "$ROOT/proc"
mount --bind /dev "$ROOT/dev"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
# Keep the root small: no manuals, no documentation, no translations.
cat > "$ROOT/etc/dpkg/dpkg.cfg.d/01-vstream-nodoc" <<'EOF'
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
echo "setup: installing Debian's Blender 4.3 and Xvfb into $ROOT"
echo 'Acquire::Retries "3";' > "$ROOT/etc/apt/apt.conf.d/80-vstream-retries"
chroot "$ROOT" apt-get update -qq
DEBIAN_FRONTEND=noninteractive chroot "$ROOT" \
  apt-get install -y -qq --no-install-recommends $PACKAGES >/tmp/vstream-blender43-apt.log 2>&1 \
  || { tail -20 /tmp/vstream-blender43-apt.log >&2; exit 1; }
chroot "$ROOT" apt-get clean
chroot "$ROOT" blender --version | head -1
echo "$WANT" > "$STAMP"
