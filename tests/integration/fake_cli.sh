#!/usr/bin/env bash
# A stand-in coding-agent CLI for test_agent (orch-agent's command preset):
#   fake_cli.sh PROMPT_FILE WORKDIR MODEL
# The prompt's "Mode:" word (from the requirement's description) says what
# to do. It reads the prompt as data only.
set -u
prompt=$1 dir=$2 model=$3
id=$(sed -n 's/^Requirement \([A-Za-z0-9_-]*\):.*/\1/p' "$prompt" | head -1)
mode=$(sed -n 's/.*Mode: \([a-z0-9]*\).*/\1/p' "$prompt" | head -1)
case "$mode" in
  write)
    mkdir -p "$dir/f"
    { echo "model=$model"; env | sed 's/=.*//' | sort; } > "$dir/f/$id.txt"
    echo "working"
    echo '{"tokensUsed": 123, "costUsd": 0.01, "summary": "wrote the file"}' ;;
  none) echo '{"tokensUsed": 7}' ;;
  ratelimit) echo "API Error: 429 Too Many Requests (rate_limit_error)" >&2; exit 1 ;;
  auth) echo "API Error: 401 Unauthorized: invalid x-api-key" >&2; exit 1 ;;
  hang) sleep 60 ;;
  *) echo "unknown mode '$mode'" >&2; exit 3 ;;
esac
