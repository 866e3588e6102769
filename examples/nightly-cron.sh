#!/usr/bin/env bash
# Nightly detection run, e.g. from cron:
#   15 2 * * *  /opt/yolo-serve/examples/nightly-cron.sh >> /var/log/yolo-serve.log 2>&1
# Exit codes: 0 all images ok, 1 some images failed (results still written), 2 setup error.
set -uo pipefail
day=$(date +%F)
out=/data/detections/$day.jsonl
npx --prefix /opt/yolo-serve yolo-serve batch /data/incoming/$day \
  --model /opt/models/yolo11n.onnx \
  --out "$out" --conf 0.3
code=$?
if [ "$code" -eq 2 ]; then echo "yolo-serve could not start (see above)"; exit 2; fi
if [ "$code" -eq 1 ]; then echo "some images failed; their error records are in $out"; fi
exit 0
