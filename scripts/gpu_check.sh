#!/usr/bin/env bash
# The GPU machine's check (issue 18), in one device call of at most 9 minutes: a session has 15 minutes of device
# time in all, the machine's start included. Parts, in order, each under its own time limit so that one slow part
# cannot eat the others (a part that runs out shows TIMEOUT and the script goes on), all under one budget:
#   1 build with the `gpu` preset           5 bench generate, 7B-shaped random INT4 model, batch 1
#   2 ctest --preset gpu                     6 GPTQ of two 7B-shaped layers (time, peak VRAM)
#   3 lowbit bench kernels                   7 LREC, 8 EMEF on a 7B-shaped model for a few steps
#   4 bench generate on stories260K            (time per step, peak VRAM beside the estimate)
# One table is printed last, one row per part (ok / FAIL / TIMEOUT / skipped and the key figures), and written to
# $OUT/gpu-check-table.txt when the device tool's $OUT is set, else build/gpu-check/table.txt.
# docs/gpu-check.md says how to run it on the device tool and what to carry.
#
#   scripts/gpu_check.sh              on the GPU machine
#   scripts/gpu_check.sh --quick      parts 1-3 only (build, GPU tests, kernel benchmark)
#   scripts/gpu_check.sh --dry-run    on any machine, no GPU needed: every part on the CPU with tiny sizes, with
#                                     the existing build/default (not built here), to exercise table and limits
#   scripts/gpu_check.sh --stage      here, before a device call: the .deb files and test data to carry
# Environment: GPU_CHECK_BUDGET_S (540, --dry-run 180), LOWBIT_BUILD (--dry-run: the build folder to use).
set -uo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
self="$repo_root/scripts/gpu_check.sh"
cd "$repo_root"

usage() { sed -n '2,/^set -uo/p' "$self" | sed -e '$d' -e 's/^# \{0,1\}//'; }

mode=gpu quick=0 part=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --dry-run) mode=dry ;;
    --stage) mode=stage ;;
    --help | -h) usage; exit 0 ;;
    --run-part) part="${2:?--run-part needs a part name}"; shift ;;  # internal: one part, in its own process
    *) echo "gpu_check: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# The parts: name, title, limit in seconds on the GPU machine, limit in a dry run. The GPU limits add up to more
# than the budget on purpose: a part may use what earlier ones left, never more than its own limit.
parts=(build ctest kernels stories int4 gptq lrec emef)
declare -A title=([build]="build (gpu preset)" [ctest]="ctest --preset gpu" [kernels]="bench kernels"
  [stories]="bench generate stories260K" [int4]="bench generate 7B INT4" [gptq]="GPTQ 2 layers 7B"
  [lrec]="LREC 7B INT2 r32" [emef]="EMEF 7B INT4 r8")
declare -A limit_gpu=([build]=180 [ctest]=90 [kernels]=90 [stories]=60 [int4]=120 [gptq]=120 [lrec]=70 [emef]=100)
declare -A limit_dry=([build]=20 [ctest]=60 [kernels]=45 [stories]=30 [int4]=30 [gptq]=40 [lrec]=50 [emef]=60)
quick_parts=3       # --quick stops after this many parts
kill_grace_s=10     # `timeout -k`: a part that ignores SIGTERM is killed this long after
table_reserve_s=5   # kept back from the budget for the table and the log archive

# Sizes on the GPU machine and in a dry run (tiny shapes, short sequences, CPU).
if [ "$mode" = dry ]; then
  build="${LOWBIT_BUILD:-$repo_root/build/default}"
  work="$repo_root/build/gpu-check-dry"
  python="$repo_root/.venv/bin/python"
  budget_s="${GPU_CHECK_BUDGET_S:-180}"
  # shellcheck disable=SC2054  # the commas belong to lowbit's lists
  kernels_args=(--device cpu --shapes 256x512 --rows 1,16,64 --bits 2,4 --repeats 2)
  stories_args=(--device cpu --prompt-tokens 32 --new-tokens 16 --repeats 1)
  random_shape=tiny int4_layers=2
  int4_args=(--device cpu --prompt-tokens 16 --new-tokens 8 --repeats 1)
  gptq_args=(--device cpu --nsamples 4 --seqlen 128)
  # lrec_7b.sh and emef_table.sh ask make_random_llama.py for the 7b shape; this makes it tiny (see there).
  lrec_env=(LOWBIT_RANDOM_LLAMA_SHAPE=tiny LREC7B_DEVICE=cpu LREC7B_LAYERS=2 LREC7B_SEQLEN=64 LREC7B_STEPS=2)
  emef_env=(LOWBIT_RANDOM_LLAMA_SHAPE=tiny EMEF_DEVICE=cpu EMEF_LAYERS=2 EMEF_STEPS=1)
else
  build="$repo_root/build/gpu"
  work="$repo_root/build/gpu-check"
  python=/opt/torch/.venv/bin/python
  [ -x "$python" ] || python="$repo_root/.venv/bin/python"
  budget_s="${GPU_CHECK_BUDGET_S:-540}"
  kernels_args=(--device cuda)
  stories_args=(--device cuda --prompt-tokens 128 --new-tokens 128 --repeats 3 --reference-python "$python")
  random_shape=7b int4_layers=32
  int4_args=(--device cuda --prompt-tokens 128 --new-tokens 64 --repeats 2)
  gptq_args=(--device cuda --nsamples 32 --seqlen 2048)
  lrec_env=(LREC7B_DEVICE=cuda LREC7B_LAYERS=4 LREC7B_SEQLEN=2048 LREC7B_STEPS=3)
  emef_env=(EMEF_DEVICE=cuda EMEF_LAYERS=4 EMEF_STEPS=3)
fi
lowbit="$build/app/lowbit"
logs="$work/logs"

# ../shared/testdata beside the checkout does not travel to the device machine; a copy made by --stage and
# carried as build/gpu-testdata does (only the two assets the parts read).
find_testdata() {
  local dir
  for dir in "$repo_root/../shared/testdata" "$repo_root/shared/testdata" "$repo_root/build/gpu-testdata"; do
    if [ -f "$dir/models/stories260K-hf/tokenizer.model" ] && [ -f "$dir/train_text/tinystories_val_sample.txt" ]; then
      (cd "$dir" && pwd)
      return
    fi
  done
}
testdata="$(find_testdata)"
tokenizer="$testdata/models/stories260K-hf/tokenizer.model"
calib_text="$testdata/train_text/tinystories_val_sample.txt"

# ---------------------------------------------------------------------------------------------------------------
# Inside a part (its own process, under `timeout`): what it found goes to two files the table is made from.
figure() { printf '%s\n' "$*" > "$work/$part.figure"; }  # the row's figures so far (a timeout shows the last)
row() { printf '%s\n' "$*" >> "$work/$part.rows"; }      # one more line under the part's row
fail() { figure "$*"; exit 1; }
skip() { figure "$*"; exit 77; }
last_line() { grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -1 | sed 's/^[[:space:]]*//' | cut -c1-160; }
# The first error message of a log ("error: ", "KeyError: "; not "-Werror"), else its last line. CMake puts its
# message on the lines after "CMake Error at FILE:LINE (message):", so the next line comes along.
first_error() {
  local line
  line="$(awk '/(^|[^-W])(error|Error)[: ]/ && !found { found = 1; text = $0; if ($0 ~ /^CMake Error/) next; print text; exit }
               found && NF { print text " " $0; exit }' "$1" 2>/dev/null | sed 's/[[:space:]]\{1,\}/ /g; s/^ //' | cut -c1-160)"
  if [ -n "$line" ]; then echo "$line"; else last_line "$1"; fi
}
# run_to FILE COMMAND...: runs COMMAND, its output in FILE and in the part's log; the status is COMMAND's.
run_to() {
  local file="$1"; shift
  echo "+ $*"
  "$@" < /dev/null 2>&1 | tee "$file"
  return "${PIPESTATUS[0]}"
}
need_testdata() {
  [ -n "$testdata" ] || skip "no test data (stories260K-hf, tinystories_val_sample.txt): ../shared does not" \
    "travel to the device machine; run scripts/gpu_check.sh --stage here and carry build/gpu-testdata"
}
# GPU memory lines of `lowbit correct` / `lowbit finetune`: "VRAM: estimated X, measured peak Y" on CUDA,
# "memory: estimated X for training on this device; peak RAM of the process Y (...)" on the CPU.
memory_summary() {
  sed -n -e 's/^VRAM: estimated \(.*\), measured peak \(.*\)$/peak VRAM \2 (estimate \1)/p' \
    -e 's/^memory: estimated \([^ ]* [^ ]*\) .*peak RAM of the process \([^ ]* [^ ]*\).*/peak RAM \2 (estimate \1)/p' \
    "$1" 2>/dev/null | head -1
}
# The 32-layer memory estimates from config files alone (emef_table.sh's estimate mode writes them), for the goals.
estimate_configs() {
  EMEF_ESTIMATE_ONLY=1 EMEF_LAYERS=32 EMEF_MICRO_BATCHES=1 LOWBIT_BUILD="$build" \
    scripts/emef_table.sh "$work/estimate-32" > "$work/$part-estimate-configs.txt" 2>&1
}
# "LREC7B_LAYERS=4 ..." as "layers 4 ...", for the table.
describe_env() { sed 's/LOWBIT_RANDOM_LLAMA_SHAPE=/shape=/g; s/\(LREC7B\|EMEF\)_//g; s/=/ /g' <<<"$*" | tr '[:upper:]' '[:lower:]'; }

part_build() {
  if [ "$mode" = dry ]; then
    [ -x "$lowbit" ] || fail "no $lowbit: the dry run uses an existing build (scripts/setup.sh makes it)"
    "$lowbit" --version > "$work/version.txt" 2>&1 || fail "lowbit --version: $(last_line "$work/version.txt")"
    figure "dry run: not built, using $build"
    row "lowbit --version: $(grep -m1 '^GPU' "$work/version.txt")"
    return 0
  fi
  # What `LOWBIT_PRESET=gpu scripts/setup.sh` does (configure and build the preset), but only the targets this
  # check runs: every target is about half as much compiling again, time the later parts need. lowbit comes
  # first, so that if the tests' build runs out of time, parts 3-8 still run.
  local start=$SECONDS configure_s lowbit_s tests
  run_to "$work/build-configure.txt" cmake --preset gpu || fail "configure: $(first_error "$work/build-configure.txt")"
  configure_s=$((SECONDS - start))
  figure "configure ${configure_s} s; building lowbit"
  run_to "$work/build-lowbit.txt" cmake --build --preset gpu --target lowbit \
    || fail "building lowbit: $(first_error "$work/build-lowbit.txt")"
  lowbit_s=$((SECONDS - start))
  "$lowbit" --version > "$work/version.txt" 2>&1
  row "lowbit --version: $(grep -m1 '^GPU' "$work/version.txt")"
  # The test binaries of the `gpu` label, as tests/CMakeLists.txt declares them; every target if none is found.
  tests="$(sed -n 's/^lowbit_add_gtest(\([A-Za-z0-9_]*\) gpu\([[:space:]].*\)\{0,1\}$/\1/p' tests/CMakeLists.txt | paste -sd' ' -)"
  figure "configure ${configure_s} s, lowbit ${lowbit_s} s; building ${tests:-all targets}"
  # shellcheck disable=SC2086  # one target per word
  run_to "$work/build-tests.txt" cmake --build --preset gpu ${tests:+--target $tests} \
    || fail "building ${tests:-all targets}: $(first_error "$work/build-tests.txt")"
  figure "configure ${configure_s} s, lowbit ${lowbit_s} s, + ${tests:-all targets} $((SECONDS - start)) s"
}

part_ctest() {
  [ -f "$build/CTestTestfile.cmake" ] || skip "no tests in $build (not configured)"
  local rc summary skipped failed
  if [ "$mode" = dry ]; then
    # No GPU here: the GPU halves of the tests skip, as they do on CI.
    run_to "$work/ctest.txt" env -u LOWBIT_REQUIRE_GPU ctest --test-dir "$build" -L gpu --no-tests=error \
      --output-on-failure
  else
    # On the GPU machine a test that finds no GPU is a failure, not a skip.
    run_to "$work/ctest.txt" env LOWBIT_REQUIRE_GPU=1 ctest --preset gpu
  fi
  rc=$?
  summary="$(grep -E 'tests passed' "$work/ctest.txt" | tail -1)"
  skipped="$(grep -cE '^[[:space:]]+[0-9]+ - .*\(Skipped\)' "$work/ctest.txt")"
  failed="$(sed -n '/The following tests FAILED:/,$p' "$work/ctest.txt" | sed -n 's/^[[:space:]]*[0-9]* - \([^ ]*\).*/\1/p' |
    head -6 | paste -sd, -)"
  [ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
  [ -n "$failed" ] && row "failed: $failed"
  [ "$rc" -eq 0 ] || fail "${summary:-$(last_line "$work/ctest.txt")}"
  figure "$summary"
}

part_kernels() {
  local rc targets
  run_to "$work/kernels.txt" "$lowbit" bench kernels "${kernels_args[@]}"
  rc=$?
  # Every `target:` line is one row: the goals of the issue, met or not.
  targets="$(grep '^target:' "$work/kernels.txt" | sed 's/^target:[[:space:]]*//')"
  [ -n "$targets" ] && while IFS= read -r line; do row "$line"; done <<<"$targets"
  case "$rc" in
    0) figure "every result matched the reference; $(grep -c '^target:' "$work/kernels.txt") targets," \
         "$(grep -cE '^target:.* (missed|not met)$' "$work/kernels.txt") missed" ;;
    *) fail "exit $rc: $(last_line "$work/kernels.txt")" ;;
  esac
}

# "prefill X, decode Y tok/s (device, dtype)" from `lowbit bench generate`'s table.
generate_summary() {
  local file="$1" label
  label="$(sed -n 's/^generation benchmark: .*, \([^,]*, [^,]*\)$/\1/p' "$file")"
  awk -v label="$label" '$1 == "lowbit" && NF == 3 {
    printf "decode %s tok/s, prefill %s tok/s, batch 1 (%s)", $3, $2, label }' "$file"
}

part_stories() {
  need_testdata
  run_to "$work/stories.txt" "$lowbit" bench generate "$testdata/models/stories260K-hf" "${stories_args[@]}" \
    || fail "exit $?: $(last_line "$work/stories.txt")"
  figure "$(generate_summary "$work/stories.txt")"
  awk '/^transformers \(same loop\)/ { printf "transformers (same loop): decode %s tok/s, prefill %s tok/s", $(NF), $(NF-1) }
       /^lowbit \/ transformers/ { printf "; lowbit/transformers decode %s, prefill %s\n", $(NF), $(NF-1) }' \
    "$work/stories.txt" | while IFS= read -r line; do row "$line"; done
}

part_int4() {
  need_testdata
  local model="$work/models/$random_shape-int4" start=$SECONDS made_s size
  rm -rf "$model"
  run_to "$work/int4-make.txt" "$python" scripts/make_random_llama.py "$model" --shape "$random_shape" \
    --layers "$int4_layers" --gptq-bits 4 --group-size 128 --tokenizer "$tokenizer" \
    || fail "make_random_llama.py: $(last_line "$work/int4-make.txt")"
  made_s=$((SECONDS - start))
  size="$(du -sh "$model/model.safetensors" | cut -f1)"
  figure "model ($size) made in ${made_s} s; loading and generating"
  run_to "$work/int4.txt" "$lowbit" bench generate "$model" "${int4_args[@]}" \
    || fail "exit $?: $(last_line "$work/int4.txt")"
  figure "$(generate_summary "$work/int4.txt")"
  row "$random_shape shape, $int4_layers layers, random INT4 group 128 codes ($size, made in ${made_s} s)"
}

part_gptq() {
  need_testdata
  local model="$work/models/$random_shape-2layers-fp16" out="$work/models/$random_shape-2layers-gptq4" line
  rm -rf "$model" "$out"
  run_to "$work/gptq-make.txt" "$python" scripts/make_random_llama.py "$model" --shape "$random_shape" --layers 2 \
    --tokenizer "$tokenizer" || fail "make_random_llama.py: $(last_line "$work/gptq-make.txt")"
  run_to "$work/gptq.txt" "$lowbit" quantize "$model" --method gptq --bits 4 --group-size 128 --calib "$calib_text" \
    "${gptq_args[@]}" --out "$out" || fail "exit $?: $(last_line "$work/gptq.txt")"
  # quantize ends with "  12.3 s, peak RAM 2.1 GiB, peak VRAM 1.4 GiB" (allocator peak of the process).
  line="$(grep -E '^ +[0-9.]+ s, peak RAM' "$work/gptq.txt" | sed 's/^ *//')"
  figure "quantize ${line:-$(last_line "$work/gptq.txt")} ($random_shape shape, ${gptq_args[*]})"
  row "$(grep -m1 'mean relative output error' "$work/gptq.txt" | sed 's/^ *//')"
}

part_lrec() {
  need_testdata
  local out="$work/lrec" rc per_step memory estimate
  run_to "$work/lrec.txt" env LOWBIT_BUILD="$build" "${lrec_env[@]}" scripts/lrec_7b.sh "$out"
  rc=$?
  # Figures from the run itself, so that they are there even when lrec_7b.sh's own summary fails.
  per_step="$(sed -n 's/^ *time per step \([0-9.]* s\).*/\1/p' "$work/lrec.txt")"
  # Else from correct's "N steps in T s" (the first step's warm-up included).
  [ -n "$per_step" ] || per_step="$(sed -n 's/.*: \([0-9]*\) steps in \([0-9.]*\) s.*/\1 \2/p' "$out/correct.log" 2>/dev/null |
    awk '$1 > 0 { printf "%.2f s (%d steps in %s s, warm-up included)", $2 / $1, $1, $2 }')"
  memory="$(memory_summary "$out/correct.log")"
  local figures="${per_step:-no step finished} per step; ${memory:-no memory line}"
  row "r 32 all projections, micro-batch 1, cached teacher; $(describe_env "${lrec_env[@]}")"
  if estimate_configs && "$lowbit" correct "$work/estimate-32/int2" --estimate --teacher "$work/estimate-32/fp16" \
    --calib "$calib_text" --out "$work/estimate-32/lrec-run" --preset int2 --seqlen 2048 --micro-batch 1 \
    --device cuda > "$work/lrec-estimate.txt" 2>&1; then
    estimate="$(sed -n 's/^memory estimate for training on cuda: \([0-9.]* [KMG]iB\).*/\1/p' "$work/lrec-estimate.txt")"
    row "32 layers, seq 2048: estimate $estimate + ~0.5 GiB CUDA context (goal <= 6 GB)"
  fi
  [ "$rc" -eq 0 ] || fail "lrec_7b.sh exit $rc: $(first_error "$work/lrec.txt") | $figures"
  figure "$figures"
}

part_emef() {
  need_testdata
  local out="$work/emef" reuse=() layers name log per_step memory line estimate
  rm -rf "$out"
  # The LREC part's fp16 model has the same shape; config.json is written last, so its presence means complete.
  layers="$(printf '%s\n' "${emef_env[@]}" | sed -n 's/^EMEF_LAYERS=//p')"
  if [ -f "$work/lrec/fp16/config.json" ] && grep -q "\"num_hidden_layers\": $layers," "$work/lrec/fp16/config.json"; then
    reuse=(EMEF_FP16_MODEL="$work/lrec/fp16")
  fi
  run_to "$work/emef.txt" env LOWBIT_BUILD="$build" EMEF_MICRO_BATCHES=1 "${emef_env[@]}" "${reuse[@]}" \
    scripts/emef_table.sh "$out" || fail "emef_table.sh exit $?: $(first_error "$work/emef.txt")"
  for name in int4 fp16 int8 int3 int2; do
    log="$out/run-$name-1.log"
    per_step="$(sed -n 's/^time per step \([0-9.]* s\).*/\1/p' "$log" 2>/dev/null)"
    memory="$(memory_summary "$log")"
    line="$name micro-batch 1: ${memory:-no memory line}, ${per_step:-no} per step"
    if [ "$name" = int4 ]; then figure "$line"; else row "$line"; fi
  done
  row "LoRA r 8 q_proj/v_proj, seqlen 256; $(describe_env "${emef_env[@]}")"
  if estimate_configs; then
    estimate="$(awk '$1 == "int4" { print $2, $3 }' "$work/$part-estimate-configs.txt")"
    row "32 layers, int4 micro-batch 1: estimate $estimate + ~0.5 GiB CUDA context (goal <= 4.5 GB)"
  fi
  # emef_table.sh goes on after a failed cell and prints FAIL in its row.
  if grep -q 'FAIL' "$work/emef.txt"; then
    fail "$(grep -m1 FAIL "$work/emef.txt" | sed 's/  */ /g') | $(cat "$work/$part.figure")"
  fi
}

if [ -n "$part" ]; then
  "part_$part"
  exit $?
fi

# ---------------------------------------------------------------------------------------------------------------
# --stage: here, before a device call (this machine has apt and ../shared).
if [ "$mode" = stage ]; then
  set -e
  scripts/gpu_debs.sh
  [ -n "$testdata" ] || { echo "gpu_check: no test data found to stage" >&2; exit 1; }
  rm -rf build/gpu-testdata
  mkdir -p build/gpu-testdata/models build/gpu-testdata/train_text
  cp -r "$testdata/models/stories260K-hf" build/gpu-testdata/models/
  cp "$calib_text" build/gpu-testdata/train_text/
  chmod -R u+w build/gpu-testdata
  echo "gpu_check: staged build/gpu-debs ($(du -sh build/gpu-debs | cut -f1)) and build/gpu-testdata" \
    "($(du -sh build/gpu-testdata | cut -f1)); device call: carry [\"build/gpu-debs\", \"build/gpu-testdata\"]"
  exit 0
fi

# ---------------------------------------------------------------------------------------------------------------
# The run: set-up, the parts one after the other, the table.
start_s=$SECONDS
mkdir -p "$logs"
rm -f "$work"/*.figure "$work"/*.rows "$logs"/*.log
header=()
note() { header+=("$*"); echo "[gpu_check] $*"; }

if [ "$mode" = dry ]; then
  note "gpu: not used (dry run: every part on the CPU with tiny sizes; the figures are not GPU results)"
  mode_flag=(--dry-run)
else
  mode_flag=()
  if command -v nvidia-smi > /dev/null; then
    note "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>&1 | head -1)"
  else
    note "gpu: nvidia-smi not found"
  fi
  # PCRE2 and utf8proc headers (core's tokenizer.json reader) may be missing from the image: .deb files
  # carried in build/gpu-debs (scripts/gpu_debs.sh) are unpacked into a prefix that pkg-config and CMake search
  # first. The .pc files say prefix=/usr, so they are pointed at the unpacked tree.
  if compgen -G "build/gpu-debs/*.deb" > /dev/null; then
    deps="$repo_root/build/gpu-deps"
    rm -rf "$deps"
    unpacked=0 debs=0
    for deb in build/gpu-debs/*.deb; do
      debs=$((debs + 1))
      dpkg -x "$deb" "$deps" && unpacked=$((unpacked + 1))
    done
    find "$deps" -name '*.pc' -exec sed -i "s|^prefix=.*|prefix=$deps/usr|" {} +
    export PKG_CONFIG_PATH="$deps/usr/lib/x86_64-linux-gnu/pkgconfig:$deps/usr/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    export CMAKE_PREFIX_PATH="$deps/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
    note "deps: $unpacked of $debs carried .deb files unpacked into build/gpu-deps (pkg-config and CMake look there first)"
  fi
  # lrec_7b.sh and emef_table.sh read ../shared/testdata and run .venv/bin/python; neither travels to the device
  # machine. A carried copy of the test data is linked there, and .venv/bin/python runs the machine's python (a
  # wrapper, not a link: a linked venv python would not find its site-packages).
  if [ -n "$testdata" ] && [ ! -e "$repo_root/../shared/testdata" ]; then
    mkdir -p "$repo_root/../shared" && ln -s "$testdata" "$repo_root/../shared/testdata" \
      && note "testdata: $testdata linked at ../shared/testdata"
  fi
  [ -n "$testdata" ] || note "testdata: none (parts 4-8 are skipped; see --stage)"
  if [ ! -x "$repo_root/.venv/bin/python" ] && [ -x /opt/torch/.venv/bin/python ]; then
    mkdir -p "$repo_root/.venv/bin"
    printf '#!/bin/sh\nexec /opt/torch/.venv/bin/python "$@"\n' > "$repo_root/.venv/bin/python"
    chmod +x "$repo_root/.venv/bin/python"
    note "python: .venv/bin/python runs /opt/torch/.venv/bin/python"
  fi
fi

child=""
trap '[ -n "$child" ] && kill -TERM "$child" 2> /dev/null; echo "gpu_check: interrupted" >&2; exit 130' INT TERM

rows=()
failures=0
add_row() { rows+=("$(printf '%-2s %-28s %-8s %6s  %s' "$@")"); }
index=0
for name in "${parts[@]}"; do
  index=$((index + 1))
  label="${title[$name]}"
  [ "$mode" = dry ] && limit="${limit_dry[$name]}" || limit="${limit_gpu[$name]}"
  left=$((budget_s - (SECONDS - start_s) - table_reserve_s - kill_grace_s))
  if [ "$quick" = 1 ] && [ "$index" -gt "$quick_parts" ]; then
    add_row "$index" "$label" skipped "" "--quick"; continue
  fi
  if [ "$name" != build ] && [ ! -x "$lowbit" ]; then
    add_row "$index" "$label" skipped "" "no ${lowbit#"$repo_root"/} (see part 1)"; continue
  fi
  if [ "$left" -lt 10 ]; then
    add_row "$index" "$label" skipped "" "out of time: $((budget_s - (SECONDS - start_s))) s of the ${budget_s} s budget left"
    continue
  fi
  [ "$left" -lt "$limit" ] && limit="$left"
  echo "[gpu_check] $index/${#parts[@]} $label (limit $limit s)"
  rm -f "$work/$name.figure" "$work/$name.rows"
  log="$logs/$index-$name.log"
  part_start=$SECONDS
  # `timeout` runs the part in a process group of its own and signals the whole group: lowbit and python too.
  timeout -k "$kill_grace_s" "$limit" bash "$self" "${mode_flag[@]}" --run-part "$name" < /dev/null > "$log" 2>&1 &
  child=$!
  wait "$child"
  rc=$?
  child=""
  elapsed=$((SECONDS - part_start))
  figures="$(cat "$work/$name.figure" 2> /dev/null)"
  case "$rc" in
    0) status=ok ;;
    77) status=skipped ;;
    124 | 137)
      if [ "$elapsed" -ge "$limit" ]; then status=TIMEOUT figures="stopped at the $limit s limit${figures:+; $figures}"
      else status=FAIL figures="killed (exit $rc)${figures:+; $figures}"; fi ;;
    *) status=FAIL ;;
  esac
  [ -n "$figures" ] || figures="exit $rc, see ${log#"$repo_root"/}"
  add_row "$index" "$label" "$status" "$elapsed s" "$figures"
  if [ -f "$work/$name.rows" ]; then
    while IFS= read -r line; do [ -n "$line" ] && add_row "" "" "" "" "  $line"; done < "$work/$name.rows"
  fi
  echo "[gpu_check] $index/${#parts[@]} $label: $status in $elapsed s"
  if [ "$status" = FAIL ] || [ "$status" = TIMEOUT ]; then
    failures=$((failures + 1))
    tail -n 12 "$log" | sed "s/^/    $name| /"
  fi
done

total_s=$((SECONDS - start_s))
revision="$(git rev-parse --short HEAD 2> /dev/null)"
[ -n "$revision" ] && ! git diff --quiet HEAD 2> /dev/null && revision="$revision + uncommitted changes"
options="$([ "$mode" = dry ] && echo ' --dry-run')$([ "$quick" = 1 ] && echo ' --quick')"
table=("== gpu_check$options: ${revision:-no git revision}, $(date -u '+%Y-%m-%d %H:%M UTC'), total ${total_s} s of the ${budget_s} s budget =="
  "${header[@]}" "$(printf '%-2s %-28s %-8s %6s  %s' '#' part status time figures)" "${rows[@]}")
mkdir -p "$work"
printf '%s\n' "${table[@]}" > "$work/table.txt"
if [ -n "${OUT:-}" ] && [ -d "$OUT" ]; then
  cp "$work/table.txt" "$OUT/gpu-check-table.txt"
  # Logs and the small outputs of the runs (not the models) in one file: the device tool returns at most 8.
  (cd "$work" && find . -type f \( -name '*.log' -o -name '*.txt' -o -name '*.json' -o -name '*.jsonl' \) \
    -size -4M -print0 | tar czf "$OUT/gpu-check-logs.tar.gz" --null -T -)
  echo "[gpu_check] wrote \$OUT/gpu-check-table.txt and \$OUT/gpu-check-logs.tar.gz"
fi
echo "[gpu_check] logs in ${logs#"$repo_root"/}, table in ${work#"$repo_root"/}/table.txt"
echo
printf '%s\n' "${table[@]}"
[ "$failures" -eq 0 ]
