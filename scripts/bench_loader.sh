#!/usr/bin/env bash
# Side by side on this machine: Tessera's data loader (`tessera bench-data`) and
# torchvision's DataLoader (scripts/bench_loader_torchvision.py) on the same CIFAR-10
# binary files, the same pipeline and the same worker count, no model:
#   crop32:  RandomCrop(32, padding=4) + RandomHorizontalFlip + ToTensor + Normalize
#   rrc224:  RandomResizedCrop(224) + RandomHorizontalFlip + ToTensor + Normalize
# torchvision runs as its users run it (PIL images, as torchvision.datasets.CIFAR10 gives
# them) and with transforms.v2 on uint8 tensors. The runs alternate for ROUNDS rounds;
# the table shows the median images/s of each and Tessera's ratio to each.
#
#   scripts/bench_loader.sh [CIFAR_DIR]   # default data/cifar-10-batches-bin; WORKERS=2 ROUNDS=3 BATCHES=40
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="$(cd "${1:-$root/data/cifar-10-batches-bin}" && pwd)"
tessera="${TESSERA_CLI:-$root/build/tessera}"
python="${TESSERA_PYTHON:-$HOME/.cache/tessera/venv/bin/python}"
workers="${WORKERS:-2}"
rounds="${ROUNDS:-3}"
batches="${BATCHES:-40}"
pipelines="${PIPELINES:-crop32 rrc224}"

results="$(mktemp)"
recipe="$(mktemp --suffix=.yaml)"
trap 'rm -f "$results" "$recipe"' EXIT
printf 'name: bench_data\nmodel: {name: vit, img_size: 32, patch_size: 4}\ndata: {dataset: cifar10}\n' >"$recipe"
echo "data loaders on $data: $workers workers, batch 128, $batches batches after 5 warmup, $rounds rounds; load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for pipeline in $pipelines; do
  if [ "$pipeline" = crop32 ]; then
    sets=(--set data.augment.random_crop_padding=4 --set data.augment.hflip=0.5)
  else
    sets=(--set data.image_size=224 --set data.augment.random_resized_crop=true --set data.augment.hflip=0.5)
  fi
  for round in $(seq "$rounds"); do
    echo "  $pipeline round $round/$rounds" >&2
    "$tessera" bench-data "$recipe" --set data.root="$data" --set data.num_workers="$workers" \
      --set data.batch_size=128 --set data.normalize=cifar10 --set train.threads=1 "${sets[@]}" \
      --batches "$batches" --json 2>/dev/null | sed "s/^{/{\"pipeline\": \"$pipeline\", /" >>"$results"
    for backend in pil tensor; do
      "$python" "$root/scripts/bench_loader_torchvision.py" --root "$data" --pipeline "$pipeline" \
        --workers "$workers" --batches "$batches" --backend "$backend" | sed "s/^{/{\"pipeline\": \"$pipeline\", /" >>"$results"
    done
  done
done

"$python" - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
by = {}
for r in rows:
    by.setdefault((r["pipeline"], r["framework"]), []).append(r["images_per_second"])
print(f"{'pipeline':<9} {'tessera img/s':>14} {'tv-pil img/s':>13} {'tv-tensor img/s':>16} {'ratio pil':>10} {'ratio tensor':>13}")
for pipeline in dict.fromkeys(r["pipeline"] for r in rows):
    t = statistics.median(by[(pipeline, "tessera")])
    p = statistics.median(by[(pipeline, "torchvision-pil")])
    v = statistics.median(by[(pipeline, "torchvision-tensor")])
    print(f"{pipeline:<9} {t:>14.0f} {p:>13.0f} {v:>16.0f} {t / p:>10.2f} {t / v:>13.2f}")
PY
