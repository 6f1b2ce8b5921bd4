#!/bin/sh
# Installs mcp-server as a systemd service on this machine, or into a staging
# root for packaging and tests. See --help.
set -eu

me="install.sh"
usage() {
  cat <<EOF
Usage: scripts/install.sh [--prefix DIR] [--root DIR] [--binary PATH]

Installs the mcp-server binary, its systemd unit and an example settings file:
  <root><prefix>/bin/mcp-server                     mode 0755
  <root>/etc/systemd/system/mcp-server.service      mode 0644 (ExecStart=<prefix>/bin/mcp-server)
  <root>/etc/mcp-server/env                         mode 0600, only if there is none yet
and, when <root> is /, creates the system user mcp-server.

Options:
  --prefix DIR   installation prefix, an absolute path (default /usr/local)
  --root DIR     staging root: everything goes under it, no user is created
                 (default /, the running system)
  --binary PATH  the built server (default ./mcp-server, from npm run build)
  --help         print this help
EOF
}

die() {
  echo "$me: error: $*" >&2
  exit 1
}

prefix=/usr/local
root=/
binary=./mcp-server

# An option's value: the next argument, which must exist.
need_value() {
  [ "$2" -ge 2 ] || { echo "$me: error: $1 needs a value (see --help)" >&2; exit 2; }
}

while [ $# -gt 0 ]; do
  case $1 in
    --prefix) need_value "$1" $#; prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --root) need_value "$1" $#; root=$2; shift 2 ;;
    --root=*) root=${1#*=}; shift ;;
    --binary) need_value "$1" $#; binary=$2; shift 2 ;;
    --binary=*) binary=${1#*=}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "$me: error: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

# --- checks, all before anything is written ---------------------------------

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
unit_src=$here/mcp-server.service
env_src=$here/env.example
[ -f "$unit_src" ] || die "$unit_src is missing (run this script from a checkout of mcp-server)"
[ -f "$env_src" ] || die "$env_src is missing (run this script from a checkout of mcp-server)"

[ -e "$binary" ] || die "$binary not found: run npm run build first (or pass --binary PATH)"
[ -f "$binary" ] || die "$binary is not a file (pass the built mcp-server with --binary PATH)"

case $prefix in
  /*) ;;
  *) die "--prefix must be an absolute path (systemd's ExecStart needs one), not $prefix" ;;
esac
case $prefix in
  *[!A-Za-z0-9/._+-]*) die "--prefix may hold only letters, digits and / . _ + -, not $prefix" ;;
esac
prefix=$(printf '%s\n' "$prefix" | sed 's|//*|/|g; s|\(.\)/$|\1|')
[ "$prefix" = / ] && prefix=""

case $root in
  "") die "--root must not be empty" ;;
esac
mkdir -p -- "$root" 2>/dev/null || die "cannot create --root $root"
root=$(CDPATH='' cd -- "$root" && pwd -P)
# The running system, or a staging tree? Only the former gets a user.
if [ "$root" = / ]; then
  live=yes
  dest=""
  [ "$(id -u)" -eq 0 ] || die "installing onto the running system needs root (or stage with --root DIR)"
else
  live=no
  dest=$root
fi

exec_start=$prefix/bin/mcp-server
grep -q '^ExecStart=/usr/local/bin/mcp-server$' "$unit_src" \
  || die "$unit_src has no 'ExecStart=/usr/local/bin/mcp-server' line to rewrite"

umask 022

# --- the binary: copied beside, then renamed over, so a running server's
# executable is never rewritten in place (no "Text file busy") -----------------
bindir=$dest$prefix/bin
mkdir -p -- "$bindir"
cp -- "$binary" "$bindir/.mcp-server.new"
chmod 0755 "$bindir/.mcp-server.new"
mv -f -- "$bindir/.mcp-server.new" "$bindir/mcp-server"
echo "installed $bindir/mcp-server"

# --- the unit ---------------------------------------------------------------
unitdir=$dest/etc/systemd/system
mkdir -p -- "$unitdir"
sed "s|^ExecStart=/usr/local/bin/mcp-server\$|ExecStart=$exec_start|" "$unit_src" >"$unitdir/.mcp-server.service.new"
chmod 0644 "$unitdir/.mcp-server.service.new"
mv -f -- "$unitdir/.mcp-server.service.new" "$unitdir/mcp-server.service"
echo "installed $unitdir/mcp-server.service (ExecStart=$exec_start)"

# --- the kernel setting that makes certificate swaps lossless -----------------
sysctldir=$dest/etc/sysctl.d
mkdir -p -- "$sysctldir"
cp -- "$here/99-mcp-server.conf" "$sysctldir/.99-mcp-server.conf.new"
chmod 0644 "$sysctldir/.99-mcp-server.conf.new"
mv -f -- "$sysctldir/.99-mcp-server.conf.new" "$sysctldir/99-mcp-server.conf"
echo "installed $sysctldir/99-mcp-server.conf (net.ipv4.tcp_migrate_req=1)"
if [ "$live" = yes ] && command -v sysctl >/dev/null 2>&1; then
  sysctl -q -w net.ipv4.tcp_migrate_req=1 2>/dev/null || echo "note: could not set net.ipv4.tcp_migrate_req now; it applies at the next boot"
fi

# --- the settings: an operator's file is never touched ------------------------
confdir=$dest/etc/mcp-server
env_file=$confdir/env
if [ -e "$env_file" ] || [ -L "$env_file" ]; then
  echo "kept the existing $env_file"
  new_env=no
else
  mkdir -p -- "$confdir"
  # Created 0600 from the first byte: it may come to hold an EAB key or token.
  (umask 077 && cp -- "$env_src" "$confdir/.env.new")
  chmod 0600 "$confdir/.env.new"
  mv -- "$confdir/.env.new" "$env_file"
  echo "installed $env_file (mode 0600): edit it before the first start"
  new_env=yes
fi

# --- the system user --------------------------------------------------------
if [ "$live" = yes ]; then
  if id -u mcp-server >/dev/null 2>&1; then
    echo "user mcp-server exists"
  else
    command -v useradd >/dev/null 2>&1 || die "useradd not found: create a system user and group named mcp-server"
    useradd --system --user-group --no-create-home --home-dir /var/lib/mcp-server \
      --shell /usr/sbin/nologin --comment "mcp-server" mcp-server
    echo "created system user mcp-server"
  fi
else
  echo "staging root $root: no user created (the package or the target creates mcp-server)"
fi

# The first domain in the settings, for the curl line below.
domain=$(sed -n 's/^MCP_DOMAINS=["'"'"']\{0,1\}\([^,"'"'"']*\).*/\1/p' "$env_file" 2>/dev/null | tail -n 1)
[ -n "$domain" ] || domain=docs.example.com

cat <<EOF

Next steps:
EOF
if [ "$new_env" = yes ]; then
  echo "  1. Edit /etc/mcp-server/env: MCP_DOMAINS, MCP_ACME_EMAIL (staging first)."
else
  echo "  1. Check /etc/mcp-server/env against the new settings in $env_src."
fi
cat <<EOF
  2. DNS: an A/AAAA record for each domain pointing here; TCP 80 and 443 open.
  3. systemctl daemon-reload && systemctl enable --now mcp-server
     (upgrading a running service: systemctl daemon-reload && systemctl restart mcp-server)
  4. journalctl -u mcp-server -f
     curl -v https://$domain/healthz
EOF
