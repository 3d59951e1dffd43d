#!/usr/bin/env bash
# Downloads the official binary release of CIFAR-10 or CIFAR-100, checks its MD5
# against the one its authors publish, and unpacks it into data/ (or DEST):
#   bash data/prepare_cifar.sh cifar10    -> data/cifar-10-batches-bin/
#   bash data/prepare_cifar.sh cifar100   -> data/cifar-100-binary/
# Needs internet access; idempotent (does nothing when the folder is complete).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="${DEST:-$here}"
base_url="https://www.cs.toronto.edu/~kriz"

case "${1:-}" in
  cifar10)
    archive=cifar-10-binary.tar.gz; md5=c32a1d4ab5d03f1284b67883e8d87530; folder=cifar-10-batches-bin
    files="batches.meta.txt data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin test_batch.bin" ;;
  cifar100)
    archive=cifar-100-binary.tar.gz; md5=03b5dce01913d631647c71ecec9e9cb8; folder=cifar-100-binary
    files="coarse_label_names.txt fine_label_names.txt train.bin test.bin" ;;
  *) echo "usage: bash data/prepare_cifar.sh cifar10|cifar100" >&2; exit 2 ;;
esac

complete=1
for f in $files; do [ -s "$dest/$folder/$f" ] || complete=0; done
if [ "$complete" = 1 ]; then
  echo "$dest/$folder is already complete"
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "downloading $base_url/$archive"
if command -v curl >/dev/null; then
  curl -fL --retry 3 -o "$tmp/$archive" "$base_url/$archive"
else
  wget -O "$tmp/$archive" "$base_url/$archive"
fi
echo "$md5  $tmp/$archive" | md5sum -c --quiet - || {
  echo "error: $archive does not have the published MD5 $md5 (a corrupt or changed download); nothing was unpacked" >&2
  exit 1
}
mkdir -p "$dest"
tar -xzf "$tmp/$archive" -C "$tmp"
rm -rf "${dest:?}/$folder"
mv "$tmp/$folder" "$dest/$folder"
echo "ready: $dest/$folder (set data.root to this folder)"
