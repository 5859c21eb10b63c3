#!/usr/bin/env bash
# The fresh-machine .ci/run the README reports, as far as one machine allows: a clone,
# an empty HOME
# (Go module/build caches, pip cache, ~/.cache/sagemaker-ic-operator all empty) and an empty
# podman storage. Debian packages (podman, containerd, mmdebstrap, ...) stay installed.
set -u
D=${1:?usage: tools/ci/cold-run.sh EMPTY_DIR [REPO]}
[ -e "$D" ] && { echo "$D exists: name a directory that does not"; exit 2; }
mkdir -p "$D/home"
git clone -q "${2:-$(git -C "$(dirname "$0")" rev-parse --show-toplevel)}" $D/repo
git -C $D/repo log --oneline -1
cat > $D/storage.conf <<EOC
[storage]
driver = "overlay"
graphroot = "$D/storage"
runroot = "$D/run"
EOC
cd $D/repo
date -u +%s > $D/start
env -i PATH="$(echo "$PATH" | sed "s#/root/go/bin:##")" HOME=$D/home CI=true CONTAINERS_STORAGE_CONF=$D/storage.conf LANG=C.UTF-8 \
  /usr/bin/time -v bash .ci/run < /dev/null > $D/ci.log 2>&1
echo "rc=$?" >> $D/ci.log
date -u +%s > $D/end
