#!/usr/bin/env bash
# Joins the parts of a Slurm grading run (grading/slurm/grade.sbatch) into grades/gradebook.csv.
#   grading/slurm/merge.sh N     (N: the number of array tasks)
set -euo pipefail
shards=${1:?usage: grading/slurm/merge.sh NUMBER_OF_SHARDS}
parts=()
for k in $(seq 1 "$shards"); do
  [[ -f grades/part-$k.json ]] || { echo "merge.sh: grades/part-$k.json is missing: shard $k did not finish" >&2; exit 1; }
  parts+=("grades/part-$k.json")
done
build/reference/bin/tito grade merge "${parts[@]}" --format csv --out grades/gradebook.csv
build/reference/bin/tito grade merge "${parts[@]}" --format json --out grades/gradebook.json
echo "merge.sh: wrote grades/gradebook.csv and grades/gradebook.json"
