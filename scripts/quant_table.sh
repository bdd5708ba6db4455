#!/usr/bin/env bash
# The quantization table of the GPTQ issue: perplexity (protocol gptq, seqlen 512) of a model quantized with RTN
# and GPTQ at 8/4/3/2 bits, group sizes 32 and -1, with and without act-order, plus file sizes and effective bits.
#   scripts/quant_table.sh [MODEL] [TEXT] [OUT_DIR]
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lowbit="$repo_root/build/default/app/lowbit"
model="${1:-$repo_root/../shared/testdata/models/stories260K-hf}"
text="${2:-$repo_root/../shared/testdata/train_text/tinystories_val_sample.txt}"
out="${3:-$repo_root/build/quant_table}"
rm -rf "$out" && mkdir -p "$out"
calib_options=(--calib "$text" --nsamples 128 --seqlen 512 --seed 0 --device cpu)
eval_options=(--text "$text" --seqlen 512 --batch-size 8 --device cpu)

ppl() { "$lowbit" eval "$1" "${eval_options[@]}" 2>/dev/null | awk '/^PPL/ {print $2}'; }
printf '%-6s %-5s %-6s %-9s %12s %12s %10s\n' method bits group act-order PPL size bits/weight
printf '%-6s %-5s %-6s %-9s %12s %12s %10s\n' FP32 32 - - "$(ppl "$model")" \
  "$(du -k "$model/model.safetensors" | cut -f1)K" 32
for bits in 8 4 3 2; do
  for group in 32 -1; do
    for method in rtn gptq; do
      for act in no yes; do
        [ "$method" = rtn ] && [ "$act" = yes ] && continue
        name="$method-$bits-g$group-act$act"
        flags=(--method "$method" --bits "$bits" --group-size "$group")
        [ "$act" = yes ] && flags+=(--act-order)
        summary="$("$lowbit" quantize "$model" "${flags[@]}" "${calib_options[@]}" --out "$out/$name" 2>/dev/null)"
        bpw="$(grep -oE '[0-9.]+ bits per weight' <<<"$summary" | cut -d' ' -f1)"
        printf '%-6s %-5s %-6s %-9s %12s %12s %10s\n' "$method" "$bits" "$group" "$act" "$(ppl "$out/$name")" \
          "$(du -k "$out/$name/model.safetensors" | cut -f1)K" "$bpw"
      done
    done
  done
done
