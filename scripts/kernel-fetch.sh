#!/usr/bin/env bash
# Fetch Debian's linux-source packages (7.x from sid: batched DMA sync merged;
# 6.12 from bookworm-security: before the series) and extract them into a cache
# OUTSIDE the repository. Kernel source is GPL and never enters this repo.
# Re-running reuses what is already extracted.
#
# Env: FLUSHCHECK_KERNEL_CACHE (default: $HOME/.cache/flushcheck-kernels)
# Prints, on its last lines, KEY=PATH for each extracted tree.
set -euo pipefail
cache=${FLUSHCHECK_KERNEL_CACHE:-$HOME/.cache/flushcheck-kernels}
mkdir -p "$cache"
cd "$cache"

have_apt() { command -v apt-get >/dev/null 2>&1; }

# A private apt state pointed at sid, so the machine's own apt config is untouched.
sid_apt() {
  local d="$cache/apt-sid"
  mkdir -p "$d/lists/partial" "$d/sources" "$d/cache/archives/partial"
  cat > "$d/sources/sid.sources" <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  : > "$d/empty.list"
  apt-get -q -oDir::Etc::SourceList="$d/empty.list" -oDir::Etc::SourceParts="$d/sources" \
    -oDir::State::Lists="$d/lists" -oDir::Cache="$d/cache" -oAPT::Architecture=amd64 "$@"
}

extract() { # $1=deb file $2=target dir name
  local deb=$1 target=$2
  if [[ -f "$target/.complete" ]]; then return 0; fi
  rm -rf "$target" "$target.tmp"; mkdir -p "$target.tmp"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$target.tmp" --wildcards './usr/src/linux-source-*.tar.*'
  local tarball; tarball=$(ls "$target.tmp"/usr/src/linux-source-*.tar.*)
  mkdir -p "$target.tmp/tree"
  tar -xf "$tarball" -C "$target.tmp/tree" --strip-components=1
  mv "$target.tmp/tree" "$target"; rm -rf "$target.tmp"
  touch "$target/.complete"
}

# --- Linux 7.x (sid) ---
if ! ls -d linux-7.*/.complete >/dev/null 2>&1; then
  have_apt || { echo "kernel-fetch: apt-get not available" >&2; exit 2; }
  sid_apt update >/dev/null
  # Prefer 7.2; else the newest linux-source-7.* sid offers.
  pkg=$(sid_apt -s install linux-source-7.2 >/dev/null 2>&1 && echo linux-source-7.2 || true)
  if [[ -z "$pkg" ]]; then
    pkg=$(apt-cache -oDir::State::Lists="$cache/apt-sid/lists" -oDir::Etc::SourceParts="$cache/apt-sid/sources" \
          -oDir::Etc::SourceList="$cache/apt-sid/empty.list" -oDir::Cache="$cache/apt-sid/cache" \
          pkgnames linux-source-7. | sort -V | tail -1)
  fi
  [[ -n "$pkg" ]] || { echo "kernel-fetch: no linux-source-7.* in sid" >&2; exit 2; }
  ver=${pkg#linux-source-}
  ls "$pkg"_*.deb >/dev/null 2>&1 || sid_apt download "$pkg"
  extract "$(ls "$pkg"_*.deb | head -1)" "linux-$ver"
fi

# --- Linux 6.12 (bookworm-security) ---
if [[ ! -f linux-6.12/.complete ]]; then
  have_apt || { echo "kernel-fetch: apt-get not available" >&2; exit 2; }
  if ! ls linux-source-6.12_*.deb >/dev/null 2>&1; then
    apt-get download linux-source-6.12 2>/dev/null || { apt-get update -q >/dev/null; apt-get download linux-source-6.12; }
  fi
  extract "$(ls linux-source-6.12_*.deb | head -1)" linux-6.12
fi

k7=$(ls -d "$cache"/linux-7.* 2>/dev/null | grep -v '\.tmp$' | sort -V | tail -1)
echo "LINUX7=$k7"
echo "LINUX612=$cache/linux-6.12"
