#!/usr/bin/env bash
# Nightly detection run, e.g. from cron:
#   15 2 * * *  /opt/yolo-serve/examples/nightly-cron.sh >> /var/log/yolo-serve.log 2>&1
#
# Safe to run again at any time (by hand, or by cron's next attempt): --resume continues today's
# results file, skipping the images already in it, and does nothing more when it is complete.
# A run that broke (exit 3: the model failed, the disk filled) is retried with --resume.
#
# Exit status: yolo-serve's own, passed on unchanged so that cron's mail, systemd or a monitor
# sees every failure:
#   0        every image ok
#   1        some images failed (their error records are in the output), or --max-failures stopped the run
#   2        could not start (bad flag, model or input): fix the cause, nothing was run
#   3        the run broke, and still did after RETRIES retries
#   130/143  interrupted by SIGINT/SIGTERM: run the script again to continue
#
# Settings come from the environment, with these defaults:
YOLO_SERVE=${YOLO_SERVE:-"npx --prefix /opt/yolo-serve yolo-serve"}   # the command (word-split)
MODEL=${MODEL:-/opt/models/yolo11n.onnx}
IN_ROOT=${IN_ROOT:-/data/incoming}        # images arrive in $IN_ROOT/YYYY-MM-DD/
OUT_ROOT=${OUT_ROOT:-/data/detections}    # results go to $OUT_ROOT/YYYY-MM-DD.jsonl (+ .summary.json)
DAY=${DAY:-$(date +%F)}
RETRIES=${RETRIES:-2}
set -uo pipefail

in="$IN_ROOT/$DAY"
out="$OUT_ROOT/$DAY.jsonl"
summary="$OUT_ROOT/$DAY.summary.json"

# yolo-serve runs in the background so that a SIGTERM sent to this script (a stop, a timeout) is
# passed on at once: yolo-serve then finishes the images in flight and closes the file cleanly.
# (Ctrl-C in a terminal reaches yolo-serve directly, as the whole process group gets SIGINT.)
child=""
trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null' TERM

attempt=0
while :; do
  # shellcheck disable=SC2086  # YOLO_SERVE may be a command with arguments
  $YOLO_SERVE batch "$in" --model "$MODEL" --out "$out" --resume --summary "$summary" \
    --conf 0.3 --progress-interval 60 &
  child=$!
  wait "$child"; code=$?
  # A trapped signal ends the first wait early; the second one gets yolo-serve's exit status.
  if kill -0 "$child" 2>/dev/null; then wait "$child"; code=$?; fi
  child=""
  case "$code" in
    0) echo "$(date -Is) $DAY: all images processed; results in $out"; exit 0 ;;
    1) echo "$(date -Is) $DAY: some images failed (or the error budget stopped the run); see the error records in $out and $summary" ;;
    2) echo "$(date -Is) $DAY: yolo-serve could not start (see above); nothing was run" ;;
    3)
      if [ "$attempt" -lt "$RETRIES" ]; then
        attempt=$((attempt + 1))
        echo "$(date -Is) $DAY: the run broke (see above); retrying with --resume ($attempt of $RETRIES)"
        sleep "${RETRY_DELAY:-30}"
        continue
      fi
      echo "$(date -Is) $DAY: the run broke $((RETRIES + 1)) times; $out keeps every record written so far" ;;
    130 | 143) echo "$(date -Is) $DAY: interrupted; run this script again to continue" ;;
    *) echo "$(date -Is) $DAY: yolo-serve exited with $code" ;;
  esac
  exit "$code"
done
