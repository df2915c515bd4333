#!/bin/bash
# Test examples/slurm/search.sbatch against a real one-node SLURM cluster on this machine
# (Debian 12: apt-get install -y slurm-wlm munge; run as root). munged, slurmctld and slurmd
# run inside a private network namespace (every socket loopback) with their files in $D;
# two allocations of the recipe: the first cut by its time limit, the second resuming.
#   PYTHON=/path/to/venv/bin/python unshare -n bash examples/slurm/one_node/run.sh   (PYTHON: a venv with the stack; default .venv/bin/python)
set -u
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
D=${D:-/tmp/hgq_slurm_one_node}
PY=${PYTHON:-$REPO/.venv/bin/python}
rm -rf "$D"; mkdir -p "$D"/{state,spool,logs,munge,shared}
H=$(hostname -s)
ip link set lo up
# slurm 22.05 picks its listening address with getaddrinfo(AI_ADDRCONFIG), which finds none
# when a namespace has only 127.0.0.1: give lo a second (still private) address
ip addr add 10.213.0.1/32 dev lo
sed "s|@D@|$D|g; s|@H@|$H|g" "$(dirname "$0")/slurm.conf.in" > "$D/slurm.conf"
cat > "$D/space.yaml" <<'YAML'
name: slurm_tiny
dataset: {name: digits, max_samples: 300}
task: {type: classification, chance_margin: 0}
model: {family: cnn, input_shape: [8, 8], conv_layers: 1}
search: {trials: 60, concurrency: 1, sampler: random}
parameters:
  filters_1: {type: int, low: 2, high: 4}
  epochs: 12
YAML
export SLURM_CONF=$D/slurm.conf
(umask 077; head -c 1024 /dev/urandom > "$D/munge/munge.key"); chmod 711 "$D/munge"
munged --force --socket="$D/munge/munge.sock" --key-file="$D/munge/munge.key" --pid-file="$D/munge/munged.pid" \
    --log-file="$D/logs/munged.log" --seed-file="$D/munge/seed"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 30); do sinfo -h -o '%T' 2>/dev/null | grep -q idle && break; sleep 1; done
sinfo

cd "$D/shared"
export SEARCH_NAME=tiny SHARED=$D/shared SPACE=$D/space.yaml PYTHON=$PY PYTHONPATH=$REPO HEAD_IP=127.0.0.1 RAY_PORT=6390 CPUS=2 KERAS_BACKEND=jax
T=$REPO/examples/slurm/search.sbatch
j1=$(sbatch --parsable --nodes=1 --cpus-per-task=2 --time=2 --signal=B:TERM@60 "$T")
j2=$(sbatch --parsable --nodes=1 --cpus-per-task=2 --time=20 "$T")
for _ in $(seq 900); do [ -z "$(squeue -h -j "$j1,$j2" 2>/dev/null)" ] && break; sleep 2; done
ok=1
grep -q "SIGTERM: stopping the search" "hgq_automl-$j1.out" || { echo "FAIL: allocation 1 was not cut mid-search"; ok=0; }
grep -q "resuming search tiny" "hgq_automl-$j2.out" || { echo "FAIL: allocation 2 did not resume"; ok=0; }
grep -q "search exited with 0" "hgq_automl-$j2.out" || { echo "FAIL: the resumed search did not end with 0"; ok=0; }
grep -q "of 60 completed trials (0 failed)" "hgq_automl-$j2.out" || { echo "FAIL: the resumed search did not reach 60 trials"; ok=0; }

pids="$(cat "$D/slurmd.pid") $(cat "$D/slurmctld.pid") $(cat "$D/munge/munged.pid")"
kill $pids 2>/dev/null
for _ in $(seq 30); do kill -0 $pids 2>/dev/null || break; sleep 1; done
[ $ok = 1 ] && echo "PASS: one allocation cut by its time limit, the next resumed the search to 60/60" && exit 0
exit 1
