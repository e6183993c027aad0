#!/usr/bin/env bash
# Runs the compiled examples the way their docs say and checks what they
# promise: `embed` signs a user in with no web framework in its dependency
# tree, and `contract` runs the whole contract suite against an adapter.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}

echo "examples: dependency tree of portico-examples"
if $CARGO tree -p portico-examples -e normal,dev --prefix none | grep -E '^actix' ; then
  echo "examples: portico-examples depends on actix (above); embedding must not need a web framework" >&2
  exit 1
fi

echo "examples: embed"
out=$($CARGO run -q -p portico-examples --example embed)
echo "$out"
grep -q "signed in" <<<"$out" || { echo "examples: embed did not sign in" >&2; exit 1; }
grep -q "created content session" <<<"$out" || { echo "examples: embed created no content session" >&2; exit 1; }

echo "examples: contract (the suite against adapter-memory)"
$CARGO run -q -p portico-examples --example contract -- --quiet
