#!/usr/bin/env bash
# Side by side on this machine: the same ViT-Ti training step in Tessera (`tessera bench`)
# and in Python timm + PyTorch eager (scripts/bench_vit_ti_timm.py), fp32 and bf16
# autocast on CPU, batch 128 of 32x32 images. ViT-Ti here is vit_tiny_patch16_224 with
# img_size 32, patch_size 4 (64 patch tokens, the usual CIFAR setting), num_classes 10;
# AdamW, same thread count on both sides. The two run alternately (A B A B ...) for
# ROUNDS rounds, since a shared machine's speed drifts; the table shows the median over
# rounds of each run's median images/s, and the Tessera / timm ratio.
#
#   scripts/bench_vit_ti.sh            # ROUNDS=3 STEPS=20 WARMUP=5 THREADS=$(nproc) MODE=train
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tessera="${TESSERA_CLI:-$root/build/tessera}"
python="${TESSERA_PYTHON:-$HOME/.cache/tessera/venv/bin/python}"
rounds="${ROUNDS:-3}"
steps="${STEPS:-20}"
warmup="${WARMUP:-5}"
threads="${THREADS:-$(nproc)}"
mode="${MODE:-train}"
batch="${BATCH:-128}"
precisions="${PRECISIONS:-fp32 bf16}"

results="$(mktemp)"
trap 'rm -f "$results"' EXIT
echo "ViT-Ti (patch 4, 32x32, 10 classes), batch $batch, $mode, $threads threads, $steps steps after $warmup warmup, $rounds rounds; load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for precision in $precisions; do
  for round in $(seq "$rounds"); do
    echo "  $precision round $round/$rounds: tessera" >&2
    OMP_NUM_THREADS="$threads" "$tessera" bench --model vit_tiny_patch16_224 --set patch_size=4 --set num_classes=10 \
      --img-size 32 --batch "$batch" --precision "$precision" --mode "$mode" --steps "$steps" --warmup "$warmup" \
      --threads "$threads" --json 2>/dev/null >>"$results"
    echo "  $precision round $round/$rounds: timm" >&2
    OMP_NUM_THREADS="$threads" "$python" "$root/scripts/bench_vit_ti_timm.py" --batch "$batch" --img-size 32 \
      --patch-size 4 --num-classes 10 --precision "$precision" --mode "$mode" --steps "$steps" --warmup "$warmup" \
      --threads "$threads" >>"$results"
  done
done

"$python" - "$results" <<'PY'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
print(f"{'precision':<10}{'tessera img/s':>15}{'timm img/s':>13}{'ratio':>8}   per-round medians (tessera | timm)")
for precision in dict.fromkeys(r["precision"] for r in runs):
    medians = {fw: [r["images_per_second"]["median"] for r in runs if r["precision"] == precision and r["framework"] == fw]
               for fw in ("tessera", "timm")}
    t, p = statistics.median(medians["tessera"]), statistics.median(medians["timm"])
    rounds = " ".join(f"{a:.0f}|{b:.0f}" for a, b in zip(medians["tessera"], medians["timm"]))
    print(f"{precision:<10}{t:>15.1f}{p:>13.1f}{t / p:>8.2f}   {rounds}")
PY
