#!/bin/bash
# The run behind diagnose.py: seed 0 of the §6 variant (target -3, a coin per start state, learner starts
# from the newest 5,000 steps), trained in segments so that a checkpoint is kept at each segment's end.
# Resume is bit-exact, so the segments make one run (its evaluations equal hyper-hopper-ema-s0's latest).
set -e
cd "$(dirname "$0")/../../.."
OUT=runs/hdiag-s0
for S in 16000 18000 19000 20000 21000 22000 23000 24000; do
  RESUME=""; [ -f $OUT/config.json ] && RESUME=--resume
  hyirl train --algo hyper --env hopper --seed 0 --steps $S --eval-every 1000 --checkpoint-every 1000 \
    --set sac.target_entropy=-3 --set start_coin=state --set learner_start_window=5000 --out $OUT --no-progress $RESUME
  mkdir -p runs/hdiag-ckpt && cp $OUT/checkpoints/learner.npz runs/hdiag-ckpt/s0-$S.npz
  # a run-directory view per checkpoint, for hyper-model-vs-real/diagnose.py and disagreement.py
  mkdir -p runs/hdiag-view-$S/checkpoints && cp $OUT/config.json runs/hdiag-view-$S/
  cp runs/hdiag-ckpt/s0-$S.npz runs/hdiag-view-$S/checkpoints/learner.npz
done
