#!/bin/bash
# Prepares the model cache and the plan on the shared folder, then submits the shard array and the merge
# as a job that depends on it.
#   DATA=/shared/svia SHARDS=16 Scripts/cluster/submit-slurm.sh
# Inputs are read from $DATA/in, outputs written to $DATA/out, models cached in $DATA/hf.
set -euo pipefail
cd "$(dirname "$0")"
: "${DATA:?set DATA to a folder every node mounts}"
SHARDS=${SHARDS:-4}
export PLAN=${PLAN:-$DATA/plan.json}
export HF_HOME=${HF_HOME:-$DATA/hf}
export DATA
svia models fetch sd-turbo taesd segformer-b0
svia plan "$DATA/in" -o "$DATA/out" --method svia --preset fast --shards "$SHARDS" --plan "$PLAN"
jid=$(sbatch --parsable --export=ALL --array=0-$((SHARDS - 1)) svia-array.sbatch)
sbatch --export=ALL --dependency=afterok:"$jid" svia-merge.sbatch
echo "submitted shards as job $jid; the merge starts when all $SHARDS have succeeded"
