# The COCO protocol's options (../shared/data/coco_small: 349 train, 18 val and 176 test
# photos, the loader's split of COCO 2017), sourced by benchmarks/coco_small.sh and
# benchmarks/fine_tune.sh (PROTOCOL=...): the VOC 2007 protocol's model and training
# options (benchmarks/voc2007_protocol.sh) on this data, its features cached in
# FEATURES (default runs/coco_small/features).
FEATURES=${FEATURES:-runs/coco_small/features}
source "$(dirname "${BASH_SOURCE[0]}")/voc2007_protocol.sh"
DATASET=coco
DATA=(--dataset "$DATASET" --data-dir ../shared/data/coco_small)
