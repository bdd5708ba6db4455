#!/usr/bin/env bash
# `lowbit download` against a Hugging Face Hub on loopback (tests/e2e/fake_hub.py, HF_ENDPOINT pointing at it):
# a 21 MB random LLaMA in safetensors (made by transformers), killed half-way and resumed with a Range request,
# every file equal to the served one; a byte corrupted in transit detected and the file fetched again; a connection
# dropped mid-file resumed on its own; a full disk (before and during); a gated repo's messages; the token sent to the hub's host only and never
# printed; pickles left out; a GGUF-only repo pointed at --include.
#   cli_download.sh LOWBIT PYTHON TESTDATA
set -uo pipefail
lowbit="$1" python="$2" testdata="$3"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/check.sh"
[ -x "$python" ] || { echo "SKIP: no Python at $python (scripts/setup.sh makes .venv)"; exit 77; }
stories="$testdata/models/stories260K-hf"
[ -d "$stories" ] || { echo "SKIP: $stories is absent (../shared/testdata)"; exit 77; }
"$lowbit" download 'not a repo' 2>&1 | grep -q "without libcurl" && { echo "SKIP: this build has no libcurl"; exit 77; }

scratch="$(mktemp -d)"
hub_pid=""
cleanup() {
  [ -n "$hub_pid" ] && kill "$hub_pid" 2>/dev/null
  mountpoint -q "$scratch/disk" 2>/dev/null && umount "$scratch/disk"
  rm -rf "$scratch"
}
trap cleanup EXIT
export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"
unset HF_TOKEN HF_HOME
export HOME="$scratch/home"  # no token saved by huggingface-cli on this machine can leak into the test

repos="$scratch/repos"
"$python" - "$repos" "$stories" <<'PY' || { echo "FAIL: could not build the served repositories"; exit 1; }
import os, shutil, sys
import torch
from transformers import LlamaConfig, LlamaForCausalLM
repos, stories = sys.argv[1:3]
model_dir = os.path.join(repos, "test-org", "tiny-llama")
torch.manual_seed(0)
config = LlamaConfig(vocab_size=512, hidden_size=512, intermediate_size=1792, num_hidden_layers=3,
                     num_attention_heads=8, num_key_value_heads=4, max_position_embeddings=256,
                     tie_word_embeddings=True, bos_token_id=1, eos_token_id=2)
LlamaForCausalLM(config).to(torch.float16).save_pretrained(model_dir, safe_serialization=True)
for name in ("tokenizer.model", "tokenizer_config.json"):
    if os.path.exists(os.path.join(stories, name)):
        shutil.copy(os.path.join(stories, name), model_dir)
with open(os.path.join(model_dir, "pytorch_model.bin"), "wb") as f:
    f.write(b"\x80\x02not really a pickle")
with open(os.path.join(model_dir, "README.md"), "w") as f:
    f.write("# tiny-llama\n")
os.makedirs(os.path.join(model_dir, "original"))
with open(os.path.join(model_dir, "original", "consolidated.pth"), "wb") as f:
    f.write(b"\x80\x02")
shutil.copytree(model_dir, os.path.join(repos, "test-org", "gated-llama"), ignore=shutil.ignore_patterns("*.bin", "original"))
gguf_dir = os.path.join(repos, "test-org", "tiny-gguf")
os.makedirs(gguf_dir)
for name in ("tiny.Q4_K_M.gguf", "tiny.Q8_0.gguf"):
    with open(os.path.join(gguf_dir, name), "wb") as f:
        f.write(b"GGUF" + bytes(1000))
PY
served="$repos/test-org/tiny-llama"
weights_bytes=$(stat -c %s "$served/model.safetensors")
echo "served: model.safetensors $weights_bytes bytes"

token="hf_fakeTokenForTheLoopbackHub1234567890"
start_hub() {  # start_hub [fake_hub.py options]: a fresh hub and log; sets HF_ENDPOINT
  [ -n "$hub_pid" ] && kill "$hub_pid" 2>/dev/null && wait "$hub_pid" 2>/dev/null
  rm -f "$scratch/ports" "$scratch/hub.log"
  "$python" "$here/fake_hub.py" --root "$repos" --ports-file "$scratch/ports" --log "$scratch/hub.log" \
    --token "$token" --gated test-org/gated-llama "$@" &
  hub_pid=$!
  for _ in $(seq 100); do [ -s "$scratch/ports" ] && break; sleep 0.1; done
  read -r hub_port cdn_port < "$scratch/ports"
  export HF_ENDPOINT="http://127.0.0.1:$hub_port"
}

same_files() {  # same_files DOWNLOADED: every file LowBit takes is there and equal to the served one
  local dir="$1" name
  for name in config.json generation_config.json model.safetensors tokenizer.model tokenizer_config.json; do
    [ -e "$served/$name" ] || continue
    cmp -s "$served/$name" "$dir/$name" || { echo "FAIL: $dir/$name differs from the served file"; failures=$((failures + 1)); }
  done
  for name in pytorch_model.bin README.md original; do
    [ ! -e "$dir/$name" ] || { echo "FAIL: $dir/$name was downloaded, but LowBit does not use it"; failures=$((failures + 1)); }
  done
}

# 1. The listing: what would come, what not and why, and whether it fits.
start_hub
out="$("$lowbit" download test-org/tiny-llama --list 2>&1)"; rc=$?
check "--list shows the files, the choice and the fit" 0 "$rc" "$out" '\+ +[0-9.]+ MiB +model\.safetensors' \
  'pytorch_model\.bin +\(a pickle file \(loading it can run code\)\)' 'README\.md +\(not used by LowBit\)' \
  'original/consolidated\.pth' 'files to download \(\+\)' 'chat +[0-9.]+ [KMG]iB'

# 2. Killed half-way (at 4 MB/s), then resumed: a Range request, fewer bytes the second time, the same files.
start_hub --rate 4000000
"$lowbit" download test-org/tiny-llama --out "$scratch/tiny" > "$scratch/first.log" 2>&1 &
download_pid=$!
partial_file="$scratch/tiny.partial/model.safetensors.incomplete"
for _ in $(seq 200); do
  [ -f "$partial_file" ] && [ "$(stat -c %s "$partial_file")" -gt $((weights_bytes / 3)) ] && break
  sleep 0.05
done
kill -9 "$download_pid"; wait "$download_pid" 2>/dev/null
killed_at=$(stat -c %s "$partial_file" 2>/dev/null || echo 0)
echo "killed with $killed_at of $weights_bytes bytes of model.safetensors on disk"
[ "$killed_at" -gt 0 ] && [ "$killed_at" -lt "$weights_bytes" ] && [ ! -e "$scratch/tiny" ] ||
  { echo "FAIL: the download was not caught half-way ($killed_at bytes; or the folder exists)"; failures=$((failures + 1)); }
start_hub
out="$("$lowbit" download test-org/tiny-llama --include '*.json' --out "$scratch/tiny" 2>&1)"; rc=$?
check "an interrupted download resumes (keeping the files it started with, and saying so)" 0 "$rc" "$out" \
  'resuming the download of test-org/tiny-llama' 'keeps the file choice it started with \(--include \[\]\)' \
  'already there from the interrupted download' 'every file matches the Hub'"'"'s hash'
echo "$out" | grep -E '^downloaded'
grep -q "\"range\": \"bytes=$killed_at-\"" "$scratch/hub.log" ||
  { echo "FAIL: the resume did not ask for bytes=$killed_at- (hub log: $(grep -c range "$scratch/hub.log") requests)"; failures=$((failures + 1)); }
same_files "$scratch/tiny"
[ ! -e "$scratch/tiny.partial" ] || { echo "FAIL: the .partial folder is left after success"; failures=$((failures + 1)); }
out="$("$lowbit" info "$scratch/tiny" 2>&1)"; rc=$?
check "the downloaded model loads" 0 "$rc" "$out" 'LlamaForCausalLM|llama'

# 3. A byte flipped in transit: the SHA-256 differs, the file comes again.
start_hub --corrupt-once model.safetensors
out="$("$lowbit" download test-org/tiny-llama --out "$scratch/corrupt" 2>&1)"; rc=$?
check "a corrupted file is detected and fetched again" 0 "$rc" "$out" \
  'model\.safetensors: its SHA-256 does not match the Hub'"'"'s; fetching it again' '1 file\(s\) fetched again after a hash mismatch'
same_files "$scratch/corrupt"

# 4. The connection dropped half-way through the weights: resumed on its own.
start_hub --drop-once model.safetensors
out="$("$lowbit" download test-org/tiny-llama --out "$scratch/dropped" 2>&1)"; rc=$?
check "a dropped connection resumes by itself" 0 "$rc" "$out" 'model\.safetensors: the connection dropped after .* resuming \(attempt 2 of 5\)'
same_files "$scratch/dropped"

# 5. A gated model: without a token, with a wrong one, with the right one (sent to the hub's host only).
start_hub
out="$("$lowbit" download test-org/gated-llama --out "$scratch/gated" 2>&1)"; rc=$?
check "a gated model without a token says what to do" 6 "$rc" "$out" 'the model is gated' 'accept its licence on http://127\.0\.0\.1:[0-9]+/test-org/gated-llama' 'HF_TOKEN'
out="$(HF_TOKEN=hf_wrong "$lowbit" download test-org/gated-llama --out "$scratch/gated" 2>&1)"; rc=$?
check "a token without access is refused with the reason" 6 "$rc" "$out" 'access denied \(403\)' 'accept the licence'
start_hub
out="$(HF_TOKEN="$token" "$lowbit" download test-org/gated-llama --out "$scratch/gated" 2>&1)"; rc=$?
check "a gated model downloads with the token" 0 "$rc" "$out" 'every file matches'
grep -q "$token" <<<"$out" && { echo "FAIL: the token appears in lowbit's output"; failures=$((failures + 1)); }
grep -rq "$token" "$scratch/gated" && { echo "FAIL: the token was written into the model folder"; failures=$((failures + 1)); }
cdn_with_token=$(grep '"server": "cdn"' "$scratch/hub.log" | grep -c '"authorization": true')
hub_with_token=$(grep '"server": "hub"' "$scratch/hub.log" | grep -c '"authorization": true')
cdn_requests=$(grep -c '"server": "cdn"' "$scratch/hub.log")
echo "token sent with $hub_with_token requests to the hub, $cdn_with_token of $cdn_requests to the other host"
[ "$hub_with_token" -gt 0 ] && [ "$cdn_with_token" -eq 0 ] && [ "$cdn_requests" -gt 0 ] ||
  { echo "FAIL: the token must go to the hub's host and never to the host it redirects to"; failures=$((failures + 1)); }

# 6. A full disk (a small tmpfs; skipped where this user may not mount): refused before it starts when the files
# cannot fit; when the disk fills during the download, a clear error, and the same command resumes after space is
# freed.
disk="$scratch/disk"
mkdir -p "$disk"
if mount -t tmpfs -o size=8M tmpfs "$disk" 2>/dev/null; then
  out="$("$lowbit" download test-org/tiny-llama --out "$disk/tiny" 2>&1)"; rc=$?
  check "a disk too small is refused before downloading" 4 "$rc" "$out" 'needs [0-9.]+ MiB more on the disk of .* which has [0-9.]+ [KM]iB free'
  umount "$disk"
  mount -t tmpfs -o size=30M tmpfs "$disk"
  start_hub --rate 4000000
  "$lowbit" download test-org/tiny-llama --out "$disk/tiny" > "$scratch/full.log" 2>&1 &
  download_pid=$!
  for _ in $(seq 200); do
    [ -f "$disk/tiny.partial/model.safetensors.incomplete" ] && [ "$(stat -c %s "$disk/tiny.partial/model.safetensors.incomplete")" -gt 2000000 ] && break
    sleep 0.05
  done
  dd if=/dev/zero of="$disk/filler" bs=1M count=30 2>/dev/null  # another program takes the rest of the disk
  wait "$download_pid"; rc=$?
  check "a disk that fills during the download stops it with what to do" 4 "$rc" "$(cat "$scratch/full.log")" \
    'No space left on device' 'free some space, then run the same download again: it resumes'
  rm -f "$disk/filler"
  start_hub
  out="$("$lowbit" download test-org/tiny-llama --out "$disk/tiny" 2>&1)"; rc=$?
  check "after space is freed, the same command resumes and finishes" 0 "$rc" "$out" 'already there from the interrupted download'
  same_files "$disk/tiny"
  umount "$disk"
else
  echo "SKIP (part): cannot mount a tmpfs here, so the full-disk checks do not run"
fi

# 7. Other refusals: an unknown repo, a GGUF-only repo (then --include), an existing folder.
out="$("$lowbit" download test-org/no-such-model --out "$scratch/none" 2>&1)"; rc=$?
check "an unknown repository" 6 "$rc" "$out" 'no such repository' 'a private repository also needs a token'
out="$("$lowbit" download test-org/tiny-gguf --out "$scratch/gguf" 2>&1)"; rc=$?
check "a GGUF-only repository points at --include" 3 "$rc" "$out" 'holds GGUF files' '--include "tiny\.Q4_K_M\.gguf"' 'lowbit import'
out="$("$lowbit" download test-org/tiny-gguf --list 2>&1)"; rc=$?
check "--list still lists a GGUF-only repository, and says why it cannot come as it is" 0 "$rc" "$out" \
  'tiny\.Q8_0\.gguf' 'cannot download as it is: .*holds GGUF files'
out="$("$lowbit" download test-org/tiny-gguf --include '*Q8_0.gguf' --out "$scratch/gguf" 2>&1)"; rc=$?
check "--include chooses the files" 0 "$rc" "$out" '1 files'
[ -f "$scratch/gguf/tiny.Q8_0.gguf" ] && [ ! -e "$scratch/gguf/tiny.Q4_K_M.gguf" ] ||
  { echo "FAIL: --include '*Q8_0.gguf' did not fetch exactly that file"; failures=$((failures + 1)); }
out="$("$lowbit" download test-org/tiny-llama --out "$scratch/tiny" 2>&1)"; rc=$?
check "an existing folder is never overwritten" 3 "$rc" "$out" 'already exists'
out="$("$lowbit" download 'not a repo' 2>&1)"; rc=$?
check "a malformed repository id" 3 "$rc" "$out" 'is not a Hugging Face repository id'
kill "$hub_pid"; wait "$hub_pid" 2>/dev/null; hub_pid=""
out="$("$lowbit" download test-org/tiny-llama --out "$scratch/offline" 2>&1)"; rc=$?
check "a hub that cannot be reached" 6 "$rc" "$out" 'the network failed' 'run the same download again'

[ "$failures" -eq 0 ] && echo "all download checks passed" || echo "$failures download check(s) failed"
exit $((failures > 0))
