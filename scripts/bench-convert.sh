#!/usr/bin/env bash
# Conversion benchmark: synthesises a >= 4 GB GLM-5.2-shaped checkpoint (real widths, 1 layer: the 1.9 GB bf16
# embedding and lm_head are the largest tensors), measures the raw read speed of its files, then converts it to fp32
# and bf16, printing throughput (source MB/s), its ratio to the raw read speed, and peak resident memory.
# Usage: scripts/bench-convert.sh [work-dir]   (default /tmp/glm-bench-convert; needs ~20 GB free)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-/tmp/glm-bench-convert}"
cli="$root/converter/glm-convert/bin/Release/net10.0/linux-x64/glm-convert.dll"
dotnet build -c Release "$root/converter/glm-convert" --nologo -v quiet > /dev/null
mkdir -p "$work"
ckpt="$work/ckpt"
if [ ! -f "$ckpt/config.json" ]; then
  dotnet "$cli" synth "$ckpt" --preset glm52 --layers 1 --dtype bf16 --seed 1 --shard-size 2GB
fi
src_bytes=$(du -cb "$ckpt"/*.safetensors | tail -1 | cut -f1)
largest=$(dotnet "$cli" convert "$ckpt" "$work/out" --plan | sed -n 's/^read .*largest \(.*\))/\1/p')
echo "checkpoint: $((src_bytes / 1000000)) MB, largest tensor $largest"

# Raw read speed of the same files (page cache warmed by a first pass, as the conversion will also find it).
cat "$ckpt"/*.safetensors > /dev/null
t0=$(date +%s.%N); cat "$ckpt"/*.safetensors > /dev/null; t1=$(date +%s.%N)
raw=$(echo "$src_bytes / ($t1 - $t0) / 1000000" | bc -l)
printf 'raw read: %.0f MB/s\n' "$raw"
# Raw write speed to the same disk (fsync'd like the converter's shards): the other bound on conversion speed.
t0=$(date +%s.%N); dd if=/dev/zero of="$work/dd.tmp" bs=1M count=2000 conv=fsync status=none; t1=$(date +%s.%N)
rm -f "$work/dd.tmp"
printf 'raw write: %.0f MB/s\n' "$(echo "2097152000 / ($t1 - $t0) / 1000000" | bc -l)"

for precision in fp32 bf16; do
  rm -rf "$work/out" "$work/out.partial"
  /usr/bin/time -f '%e %M' -o "$work/time.txt" dotnet "$cli" convert "$ckpt" "$work/out" --precision "$precision" > /dev/null 2> "$work/log.txt"
  read -r secs rss_kb < "$work/time.txt"
  out_bytes=$(du -cb "$work/out" | tail -1 | cut -f1)
  mbps=$(echo "$src_bytes / $secs / 1000000" | bc -l)
  printf '%s: %.1f s, %.0f MB/s read (%.2f x raw read), wrote %d MB, peak RSS %d MB\n' \
    "$precision" "$secs" "$mbps" "$(echo "$mbps / $raw" | bc -l)" "$((out_bytes / 1000000))" "$((rss_kb / 1024))"
done
rm -rf "$work/out"
