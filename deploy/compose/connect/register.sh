#!/bin/sh
# Registers (or updates) every connector in this directory with Kafka
# Connect: <name>.json holds the connector's configuration, and PUT
# /connectors/<name>/config creates or replaces it, so running this again
# is harmless.
set -eu
connect=${CONNECT_URL:-http://connect:8083}
for f in /connect/*.json; do
  name=$(basename "$f" .json)
  echo "registering connector $name"
  curl -fsS -X PUT -H 'Content-Type: application/json' --data "@$f" "$connect/connectors/$name/config"
  echo
done
