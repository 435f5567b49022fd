#!/bin/sh
# Registers the search attributes the runbook sets, once the Temporal server answers. Idempotent.
set -eu
ns="${TEMPORAL_NAMESPACE:-default}"
i=0
until temporal operator namespace describe --namespace "$ns" >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -gt 120 ]; then echo "namespace $ns not ready after 120 tries" >&2; exit 1; fi
  sleep 2
done
for name in ResetTarget ResetStep ResetOutcome; do
  if temporal operator search-attribute list --namespace "$ns" | grep -qw "$name"; then
    echo "search attribute $name: already registered"
  else
    temporal operator search-attribute create --namespace "$ns" --name "$name" --type Keyword
    echo "search attribute $name: registered"
  fi
done
