#!/usr/bin/env bash
# Reproduce the bundled trees model (fastsam_plugin/models/fastsam-demo-trees.{safetensors,json}), docs/models.md
# "Trees segmenter"; convert the result with `napari-fastsam weights convert`.
#
#   scripts/train_trees.sh [URBAN_TREES_DIR] [WORKDIR]
#
# Four stages of `napari-fastsam train --trees` on the 383 train_socal tiles (CPU, about 4 hours on 2 cores):
#   1. 70 epochs from the shapes demo model (seed 0), imgsz 256;
#   2. 60 more epochs from stage 1's best checkpoint with a fresh learning-rate schedule (seed 1), imgsz 256;
#   3. 30 more epochs from stage 2's best at imgsz 384 (the 256-px tiles upsampled 1.5x: crowns a few pixels
#      across get more of the model's stride-8 grid), fresh schedule (seed 2);
#   4. 25 more epochs from stage 3's best at imgsz 416, the size it runs at, fresh schedule (seed 3).
# Either stage goes on after an interruption when this script is run again (Ultralytics' resume).
# Then `python scripts/evaluate_trees.py --weights WORKDIR/trees416/weights/best.pt` chooses the operating
# point on the training tiles and scores the validation tiles.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
data="${1:-$here/../shared/data/aerial/urban-trees}"
work="${2:-runs}"
common=(--trees "$data" --batch 16 --device cpu --workers 0 --workdir "$work")

stage() {  # NAME EPOCHS SEED MODEL IMGSZ: run a stage, or go on with it when it stopped part way
  local name=$1 epochs=$2 seed=$3 model=$4 imgsz=$5
  [[ -f "$work/$name/done" ]] && return
  if [[ -f "$work/$name/weights/last.pt" ]]; then
    napari-fastsam train --resume --workdir "$work" --name "$name"
  else
    napari-fastsam train "${common[@]}" --model "$model" --epochs "$epochs" --seed "$seed" --imgsz "$imgsz" \
      --name "$name"
  fi
  touch "$work/$name/done"
}

stage trees 70 0 "$here/fastsam_plugin/models/fastsam-demo-n.safetensors" 256
stage trees2 60 1 "$work/trees/weights/best.pt" 256
stage trees384 30 2 "$work/trees2/weights/best.pt" 384
stage trees416 25 3 "$work/trees384/weights/best.pt" 416
echo "trained: $work/trees416/weights/best.pt"
