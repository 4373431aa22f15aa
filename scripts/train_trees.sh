#!/usr/bin/env bash
# Reproduce the bundled trees model (fastsam_plugin/models/fastsam-demo-trees.pt), docs/models.md "Trees segmenter".
#
#   scripts/train_trees.sh [URBAN_TREES_DIR] [WORKDIR]
#
# Two stages of `napari-fastsam train --trees` on the 383 train_socal tiles (CPU, about 2.5 hours on 2 cores):
#   1. 70 epochs from the shapes demo model (seed 0);
#   2. 60 more epochs from stage 1's best checkpoint with a fresh learning-rate schedule (seed 1).
# Either stage goes on after an interruption when this script is run again (Ultralytics' resume).
# Then `python scripts/evaluate_trees.py --weights WORKDIR/trees2/weights/best.pt` chooses the operating
# point on the training tiles and scores the validation tiles.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
data="${1:-$here/../shared/data/aerial/urban-trees}"
work="${2:-runs}"
common=(--trees "$data" --imgsz 256 --batch 16 --device cpu --workers 0 --workdir "$work")

stage() {  # NAME EPOCHS SEED MODEL: run a stage, or go on with it when it stopped part way
  local name=$1 epochs=$2 seed=$3 model=$4
  [[ -f "$work/$name/done" ]] && return
  if [[ -f "$work/$name/weights/last.pt" ]]; then
    napari-fastsam train --resume --workdir "$work" --name "$name"
  else
    napari-fastsam train "${common[@]}" --model "$model" --epochs "$epochs" --seed "$seed" --name "$name"
  fi
  touch "$work/$name/done"
}

stage trees 70 0 "$here/fastsam_plugin/models/fastsam-demo-n.pt"
stage trees2 60 1 "$work/trees/weights/best.pt"
echo "trained: $work/trees2/weights/best.pt"
