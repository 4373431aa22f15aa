#!/usr/bin/env bash
# Train the DSB2018 nuclei model (docs/models.md, "Nuclei segmenter"): one command, resumable.
#
#   scripts/train_nuclei_dsb.sh [DSB2018_DIR] [WORKDIR] [HOURS]
#
# Builds WORKDIR/dataset once (crops of the DSB2018 stage-1 training experiments, every image resized so its
# median nucleus is ~20 px across; splits.tsv says which image went where), then fine-tunes the previous
# demo-nuclei model (YOLOv8n-seg) on it for HOURS of CPU time (Ultralytics fits the schedule to the budget), at
# the lowest CPU priority. Run it again after an interruption and it goes on from WORKDIR/dsb/weights/last.pt.
# Log: WORKDIR/train.log. Then: python scripts/evaluate_nuclei_dsb.py --weights WORKDIR/dsb/weights/best.pt
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
data="${1:-$here/../shared/data/microscopy/dsb2018-stage1}"
work="${2:-$here/runs/nuclei}"
hours="${3:-1.75}"
py="${PYTHON:-$here/.venv/bin/python}"
mkdir -p "$work"
start="$work/init-demo-nuclei.safetensors"  # a copy (with its .json), so the bundled files may change meanwhile
[[ -f "$start" ]] || { cp "$here/fastsam_plugin/models/fastsam-demo-nuclei.json" "$work/init-demo-nuclei.json"
                       cp "$here/fastsam_plugin/models/fastsam-demo-nuclei.safetensors" "$start"; }
cd "$here"
nice -n 19 "$py" -m fastsam_plugin.training.dsb2018 --data "$data" --work "$work" --model "$start" \
  --hours "$hours" --rounds 1 --imgsz 256 --batch 16 --workers 1 >>"$work/train.log" 2>&1
