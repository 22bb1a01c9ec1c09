# The VOC 2007 protocol's options, sourced by benchmarks/voc2007.sh and voc2007_asl.sh:
# COMMON, the model and data options (frozen ImageNet MobileNetV2 at
# 224 px on cached features (FEATURES, default runs/voc/features), Adam at batch 32,
# clipnorm 1); BUDGET, the search's epochs (at most 25, stopped after 5 without a better
# val mAP).
FEATURES=${FEATURES:-runs/voc/features}
DATASET=voc2007
DATA=(--dataset "$DATASET" --data-dir ../shared/data/voc2007)
BACKBONE=weights/backbones/mobilenet_v2_1.0_224_imagenet_notop.weights.h5
COMMON=(--backbone mobilenet_v2 --backbone-weights "$BACKBONE" --image-size 224
        --cache-features "$FEATURES" --model-arg backbone_trainable=false
        --batch-size 32 --clipnorm 1.0)
BUDGET=(--epochs 25 --early-stopping 5)
export TF_CPP_MIN_LOG_LEVEL=3
