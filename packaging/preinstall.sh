#!/bin/sh
# Creates the unprivileged account the systemd unit runs as.
set -e
if ! getent group gatehouse >/dev/null; then
  groupadd --system gatehouse
fi
if ! getent passwd gatehouse >/dev/null; then
  useradd --system --gid gatehouse --home-dir /var/lib/gatehouse --no-create-home \
    --shell /usr/sbin/nologin gatehouse
fi
