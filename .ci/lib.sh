# Shared by .ci/bootstrap, .ci/start and .ci/run. Source it; do not run it.
# Every function prints what it does and is safe to call again.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# /usr/sbin for runuser, which a minimal PATH may lack.
export PATH="$HOME/.cargo/bin:$ROOT/end2end/node_modules/.bin:$PATH:/usr/sbin:/sbin"
# Written by .ci/bootstrap when it had to fall back to Debian's wasm-capable rustc.
[ -f "$HOME/.cache/telehealth-rust-path.sh" ] && . "$HOME/.cache/telehealth-rust-path.sh"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# The newest installed PostgreSQL server's bin directory (Debian layout).
pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] && [ -x "$d/pg_ctl" ] || return 1
  echo "$d"
}

# Runs a PostgreSQL server command as the owner of the data directory:
# as root that is the 'postgres' user (initdb refuses root), otherwise ourselves.
as_pg() {
  # From /: the postgres user may not be allowed into the current directory.
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# The project-local data directory of the private cluster (kept between runs).
# Falls back to /var/lib/telehealth/<hash> when the postgres user cannot reach
# the checkout (e.g. a clone under /root).
pg_data_dir() {
  local dir="$ROOT/.data/postgres"
  if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$ROOT" 2>/dev/null; then
    dir="/var/lib/telehealth/$(printf '%s' "$ROOT" | sha1sum | cut -c1-12)/postgres"
  fi
  echo "$dir"
}

# pg_ensure PORT: starts (initialising on first use) the private cluster on
# 127.0.0.1:PORT. synchronous_commit=off speeds the test suite up and can lose
# only the last moments of a crash, never corrupt the cluster. Sets PG_PORT and PG_ADMIN_URL.
pg_ensure() {
  local port="$1" bin dir
  bin=$(pg_bin) || die "PostgreSQL server is not installed (run: bash .ci/bootstrap)"
  dir=$(pg_data_dir)
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir" && chmod 700 "$dir"
  if [ ! -f "$dir/PG_VERSION" ]; then
    say "initialising a private PostgreSQL cluster in $dir"
    as_pg "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null \
      || die "initdb failed for $dir"
  fi
  if as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    say "PostgreSQL already running ($dir)"
  else
    # Another cluster (a developer's, from another checkout) may hold the port: take the next free one.
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
      say "port $port is taken; trying $((port + 1))"
      port=$((port + 1))
    done
    say "starting PostgreSQL on 127.0.0.1:$port"
    as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 30 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=256MB -c synchronous_commit=off" \
      start >/dev/null || { tail -n 20 "$dir/server.log" >&2; die "PostgreSQL did not start (is port $port taken?)"; }
  fi
  # The port the running server really uses (it may have been started earlier with another).
  PG_PORT=$(sed -n 4p "$dir/postmaster.pid" 2>/dev/null || echo "$port")
  PG_ADMIN_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
  export PG_PORT PG_ADMIN_URL
}

# pg_create_db NAME: creates the database on the private cluster if missing.
pg_create_db() {
  local name="$1"
  if ! psql "$PG_ADMIN_URL" -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
    say "creating database $name"
    psql "$PG_ADMIN_URL" -q -c "CREATE DATABASE \"$name\"" >/dev/null
  fi
}

# Where cargo puts build output. Outside the checkout by default, so a fresh
# clone on the same machine (CI) reuses earlier compilation.
cargo_target_dir() {
  echo "${CARGO_TARGET_DIR:-${TELEHEALTH_TARGET_DIR:-$HOME/.cache/telehealth/target}}"
}
