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
  none) echo '{"tokensUsed": 7, "costUsd": 0.004}' ;;
  resolve)
    # what it found (outside the work tree), then one resolution of f/shared.txt
    log="$dir/../../$id-cli.log"
    grep -q '^<<<<<<< ' "$dir/f/shared.txt" 2>/dev/null && echo "markers" >> "$log"
    grep -q 'Merge conflicts to resolve' "$prompt" && grep -q 'f/shared.txt' "$prompt" && echo "told" >> "$log"
    git -C "$dir" config user.name >/dev/null 2>&1 || [ -n "${GIT_AUTHOR_NAME:-}" ] && echo "identity" >> "$log"
    printf 'mine and theirs\n' > "$dir/f/shared.txt"
    echo '{"tokensUsed": 5, "summary": "resolved the conflict"}' ;;
  ratelimit) echo "API Error: 429 Too Many Requests (rate_limit_error)" >&2; exit 1 ;;
  usagelimit) echo "API Error: 429 rate_limit_error: Claude AI usage limit reached|$(( $(date +%s) + 600 ))" >&2; exit 1 ;;
  auth) echo "API Error: 401 Unauthorized: invalid x-api-key" >&2; exit 1 ;;
  broken)
    # fails at once on instance be-1 (its git identity), as a CLI without
    # credentials would; works on any other
    if [ "${GIT_AUTHOR_NAME:-}" = be-1 ]; then
      echo "API Error: 401 Unauthorized: invalid x-api-key" >&2; exit 1
    fi
    mkdir -p "$dir/f" && echo ok > "$dir/f/$id.txt"
    echo '{"tokensUsed": 3, "summary": "wrote the file"}' ;;
  hang) sleep 60 ;;
  *) echo "unknown mode '$mode'" >&2; exit 3 ;;
esac
