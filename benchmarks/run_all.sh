#!/usr/bin/env bash
# Rerun the whole benchmark table: every benchmarks/bench_*.py, each writing its results_*.md,
# with the machine's ceilings (machine_ceilings.py) measured at the start and at the end of the
# same run into results_machine.md. Peers come from .venv-bench (created when missing); Dask
# rows need .venv. A script's results file is replaced only when that script succeeds.
#
#   bash benchmarks/run_all.sh                  # everything (an hour or more on 2 cores)
#   bash benchmarks/run_all.sh integrate lif    # only bench_integrate.py and bench_lif.py
set -uo pipefail
cd "$(dirname "$0")/.."
BENCH=.venv-bench/bin/python
[ -x "$BENCH" ] || bash benchmarks/setup_bench_env.sh || exit 1
[ -x .venv/bin/python ] || bash scripts/setup_env.sh || exit 1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
B=benchmarks
mkdir -p $B/_work
failed=()

# name -> command writing markdown to stdout ("-" : the script updates its file itself)
cmd_for() {
  case "$1" in
    dask)          echo ".venv/bin/python $B/bench_dask.py --per-class 100 --markdown" ;;
    train)         echo ".venv/bin/python $B/bench_train.py --markdown" ;;
    first_run)     echo ".venv/bin/python $B/bench_first_run.py --markdown" ;;
    formats)       echo "- $BENCH $B/bench_formats.py --only aedat4 --out $B/results_formats.md && $BENCH $B/bench_formats.py --only prophesee --out $B/results_formats.md" ;;
    datasets)      echo "- $BENCH $B/bench_datasets.py --update $B/results_datasets.md" ;;
    lif_gpu)       echo "$BENCH $B/bench_lif_gpu.py --markdown" ;;
    *)             echo "$BENCH $B/bench_$1.py --markdown" ;;
  esac
}

has_gpu() { "$BENCH" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; }

if [ $# -gt 0 ]; then
  names=("$@")
else
  names=()
  for f in $B/bench_*.py; do
    n=$(basename "$f" .py); n=${n#bench_}
    if [ "$n" = lif_gpu ] && ! has_gpu; then echo "skip lif_gpu: no CUDA GPU"; continue; fi
    names+=("$n")
  done
fi

ceilings() {  # $1: label
  "$BENCH" $B/machine_ceilings.py --label "$1" >> $B/_work/machine.md || failed+=("ceilings-$1")
}

: > $B/_work/machine.md
ceilings "start of run_all"
for n in "${names[@]}"; do
  [ -f "$B/bench_$n.py" ] || { echo "no $B/bench_$n.py"; failed+=("$n"); continue; }
  c=$(cmd_for "$n")
  echo "== $n: ${c#- }"
  t0=$(date +%s)
  if [ "${c:0:2}" = "- " ]; then
    bash -c "${c#- }" > "$B/_work/$n.log" 2>&1
    rc=$?
  else
    bash -c "$c" > "$B/_work/$n.md" 2> "$B/_work/$n.log"
    rc=$?
    [ $rc -eq 0 ] && mv "$B/_work/$n.md" "$B/results_$n.md"
  fi
  if [ $rc -eq 0 ]; then
    echo "   ok ($(( $(date +%s) - t0 )) s)"
  else
    echo "   FAILED (rc $rc, see $B/_work/$n.log)"; failed+=("$n")
  fi
done
ceilings "end of run_all"
{ echo "# Machine ceilings, measured by benchmarks/run_all.sh before and after the benchmarks"
  echo; echo "Benchmarks run: ${names[*]}"; echo; cat $B/_work/machine.md; } > $B/results_machine.md

if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]}"
  exit 1
fi
echo "all done: results in $B/results_*.md, ceilings in $B/results_machine.md"
