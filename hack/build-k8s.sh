#!/usr/bin/env bash
# Build the pinned Kubernetes binaries from the Go module proxy into a versioned cache
# directory outside the repository. Re-running is cheap: a complete cache is reused.
#
#   hack/build-k8s.sh            -> prints the bin directory on stdout when done
#
# Environment: K8S_VERSION (default: hack/k8s-version), K8S_PROGS (default: all seven programs),
# EDGEADM_CACHE (default ~/.cache/edgeadm)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
V=${K8S_VERSION:-$(cat "$here/k8s-version")}
V=${V#v}
S=0.${V#1.}
MINOR=$(echo "$V" | cut -d. -f2)
CACHE=${EDGEADM_CACHE:-$HOME/.cache/edgeadm}
W="$CACHE/k8sbuild/v$V"
mkdir -p "$CACHE/k8sbuild"; exec 9>"$W.lock"; flock 9  # one build per version at a time (CI prebuilds beside the tests)
BIN="$W/bin"
PROGS=${K8S_PROGS:-"kube-apiserver kube-controller-manager kubelet kubectl kubeadm kube-scheduler kube-proxy"}

complete() { for p in $PROGS; do [ -x "$BIN/$p" ] || return 1; done; [ -f "$BIN/.complete" ]; }
if complete; then echo "$BIN"; exit 0; fi

mkdir -p "$W" && cd "$W"
[ -f go.mod ] || go mod init local/k8sbuild >&2
GOMOD=$(go mod download -json "k8s.io/kubernetes@v$V" | python3 -c 'import json,sys;print(json.load(sys.stdin)["GoMod"])')
for m in $(grep -oE '^\s+k8s\.io/[a-z0-9-]+ v0\.0\.0$' "$GOMOD" | awk '{print $1}'); do
  go mod edit -replace="$m=$m@v$S"
done
gd=$(grep -oE '^godebug default=go[0-9.]+' "$GOMOD" | head -1 | sed 's/^godebug //' || true)
[ -n "$gd" ] && go mod edit -godebug="$gd"
# only what is missing: a cache from before a program was added keeps its binaries (they may be running)
MISSING=$(for p in $PROGS; do [ -x "$BIN/$p" ] || printf "%s " "$p"; done)  # one line: matched as " $MISSING " below
[ -z "$MISSING" ] || go get -tool $(for p in $MISSING; do echo "k8s.io/kubernetes/cmd/$p@v$V"; done) >&2

LD="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  LD="$LD -X $p.gitVersion=v$V -X $p.gitMajor=1 -X $p.gitMinor=$MINOR -X $p.gitTreeState=clean -X $p.gitCommit=0000000000000000000000000000000000000000 -X $p.buildDate=1970-01-01T00:00:00Z"
done
mkdir -p "$BIN"
# static like upstream's release binaries, except the kubelet (cgo, as upstream builds it)
STATIC=$(for p in $MISSING; do [ "$p" = kubelet ] || echo "k8s.io/kubernetes/cmd/$p"; done)
[ -z "$STATIC" ] || CGO_ENABLED=0 go build -trimpath -tags=selinux,notest,grpcnotrace -ldflags "$LD" -o "$BIN/" \
  $STATIC >&2
case " $MISSING " in *" kubelet "*)
  go build -trimpath -tags=selinux,notest,grpcnotrace -ldflags "$LD" -o "$BIN/" k8s.io/kubernetes/cmd/kubelet >&2;;
esac
for p in $MISSING; do
  case $p in kubeadm) "$BIN/$p" version -o short ;; kubectl) "$BIN/$p" version --client ;; *) "$BIN/$p" --version ;; esac >&2
done
touch "$BIN/.complete"
echo "$BIN"
