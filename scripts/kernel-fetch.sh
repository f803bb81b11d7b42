#!/usr/bin/env bash
# Fetch Debian's linux-source packages (7.x from sid: batched DMA sync merged;
# 6.12 from bookworm-security: before the series) and extract them into a cache
# OUTSIDE the repository. Kernel source is GPL and never enters this repo.
# Re-running reuses what is already extracted.
#
# Also creates linux-7.x.git beside the 7.x tree: a separate git dir tracking
# the tree (one commit, "base"), for `flushcheck diff` on a real kernel
# (test/kernel/diff.test.ts, `npm run bench`). Use it with
# GIT_DIR=<cache>/linux-7.x.git GIT_WORK_TREE=<cache>/linux-7.x; nothing is
# ever written inside the tree itself.
#
# Env: FLUSHCHECK_KERNEL_CACHE (default: $HOME/.cache/flushcheck-kernels)
# Prints, on its last lines, KEY=PATH for each extracted tree and the git dir.
set -euo pipefail
cache=${FLUSHCHECK_KERNEL_CACHE:-$HOME/.cache/flushcheck-kernels}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd) # absolute: GIT_WORK_TREE and the printed paths must not depend on the cwd
cd "$cache"

have_apt() { command -v apt-get >/dev/null 2>&1; }

# The Debian mirror this machine's apt already uses: the URI of the first source
# whose suites include the release's codename (bookworm, ...), from deb822
# .sources files or one-line .list entries. No mirror's name is written here.
debian_mirror() {
  local codename; codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
  [[ -n "$codename" ]] || return 1
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    awk -v cn="$codename" '
      function flush() { if (uri != "" && suites ~ ("(^| )" cn "( |$)")) { print uri; found = 1; exit } uri = ""; suites = "" }
      /^[ \t]*$/ { flush(); next }
      /^URIs:/ { uri = $2 }
      /^Suites:/ { $1 = ""; suites = $0; sub(/^ +/, "", suites) }
      END { if (!found) flush() }' "$f"
  done | head -n 1 | grep . && return 0
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk -v cn="$codename" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i+1) == cn) { print $i; exit } }' | grep .
}

# A private apt state pointed at sid, so the machine's own apt config is untouched.
sid_apt() {
  local d="$cache/apt-sid" mirror
  mirror=$(debian_mirror) || { echo "kernel-fetch: no Debian mirror found in /etc/apt/sources.list{,.d/}" >&2; exit 2; }
  mkdir -p "$d/lists/partial" "$d/sources" "$d/cache/archives/partial"
  cat > "$d/sources/sid.sources" <<SRC
Types: deb
URIs: $mirror
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
  # A git dir tracking an earlier extraction of this tree is stale: redone below.
  rm -rf "$target" "$target.tmp" "$target.git" "$target.git.tmp"; mkdir -p "$target.tmp"
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

# Trees only: not linux-7.x.git, nor a .tmp left by an interrupted run.
k7=$(ls -d "$cache"/linux-7.* 2>/dev/null | grep -E '/linux-7\.[0-9]+$' | sort -V | tail -1)

# --- a git dir tracking the 7.x tree ---
# Built in $gitdir.tmp and renamed when the commit exists, so an interrupted run
# is redone: a linux-7.x.git without .tmp is always complete.
gitdir=$k7.git
if [[ ! -d "$gitdir" ]]; then
  command -v git >/dev/null 2>&1 || { echo "kernel-fetch: git not available" >&2; exit 2; }
  rm -rf "$gitdir.tmp"
  (
    export GIT_DIR="$gitdir.tmp" GIT_WORK_TREE="$k7"
    cd "$k7" # pathspecs are relative to the cwd; nothing is written here
    git init -q
    # No automatic gc: committing ~90k loose objects would start one in the
    # background, competing with whatever runs next (tests, the bench).
    git config gc.auto 0
    # -f: Debian's tarball .gitignore ignores everything.
    git add -f -A
    git -c user.name=flushcheck -c user.email=flushcheck@localhost commit -qm base
  )
  mv "$gitdir.tmp" "$gitdir"
fi

echo "LINUX7=$k7"
echo "LINUX612=$cache/linux-6.12"
echo "LINUX7GIT=$gitdir"
