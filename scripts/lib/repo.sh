# shellcheck shell=bash
# The repository part of `scripts/run.sh --repo PATH`, sourced by run.sh
# (which has `set -euo pipefail` and is in the project's root).
#
# The user's repository is only read: its committed HEAD is cloned, bare,
# to var/repos/<name>/repo.git (the "copy"); the agents clone that, the merge
# train pushes to its base branch. Everything of the run is under
# var/repos/<name>/ and stays there between runs, so a second run resumes:
#
#   orchestrator.json  the settings (written at the first run from what was
#                      detected; read and edited by people; reused)
#   repo.git           the copy; projects.json the verifier's view of it
#   roadmap.md         the roadmap as imported, statuses written back
#   nats/              the JetStream store (the suite's whole state)
#   creds/ log/ agents/ work/ codex-home/
#
# Nothing from the repository or the settings is evaluated: values are read
# as text (scripts/lib/settings.js prints KEY=VALUE lines) and steps stay
# JSON arrays of arguments that the verifier runs without a shell.

repo_types=(backend frontend database documentation review release)

repo_die() { echo "run.sh: $*" >&2; exit 2; }

# The build and test steps of the layout at the copy's HEAD, as the JSON of
# a projects file's "steps" (repo_steps) and a sentence (repo_layout).
# First match wins: Makefile, CMake, npm, cargo, go, pytest.
repo_detect() { # src
  local src=$1 files mk
  files=$(git -C "$src" ls-tree --name-only HEAD)
  # here-strings, not pipes: grep -q leaving early must not fail the writer
  has() { grep -qFx -- "$1" <<<"$files"; }
  step() { printf '{"name": "%s", "command": %s, "timeout_s": %s}' "$1" "$2" "${3:-600}"; }
  repo_steps=
  for mk in GNUmakefile makefile Makefile; do
    has "$mk" || continue
    if grep -qE '^test:' <<<"$(git -C "$src" show "HEAD:$mk")"; then
      repo_steps="[$(step build '["make"]'), $(step test '["make", "test"]')]"
      repo_layout="$mk: make, then make test"
    else
      repo_steps="[$(step build '["make"]')]"
      repo_layout="$mk without a test target: make only"
    fi
    return 0
  done
  if has CMakeLists.txt; then
    repo_steps="[$(step configure '["cmake", "-S", ".", "-B", "build"]'), $(step build '["cmake", "--build", "build", "-j2"]')"
    repo_layout="CMake: cmake -S . -B build, cmake --build build"
    if grep -qiE 'enable_testing|add_test|include\(CTest\)' <<<"$(git -C "$src" show HEAD:CMakeLists.txt)"; then
      repo_steps+=", $(step test '["ctest", "--test-dir", "build", "--output-on-failure"]')"
      repo_layout+=", ctest --test-dir build"
    fi
    repo_steps+="]"
    return 0
  fi
  if has package.json; then
    local scripts install='["npm", "install", "--no-audit", "--no-fund"]'
    has package-lock.json && install='["npm", "ci", "--no-audit", "--no-fund"]'
    scripts=$(git -C "$src" show HEAD:package.json | node -e \
      'let t="";process.stdin.on("data",d=>t+=d).on("end",()=>{const s=(JSON.parse(t).scripts)||{};console.log(Object.keys(s).join(" "))})')
    repo_steps="[$(step install "$install")"
    repo_layout="npm: ${install//[\[\]\",]/}"
    case " $scripts " in *" build "*) repo_steps+=", $(step build '["npm", "run", "build"]')"; repo_layout+=", npm run build" ;; esac
    case " $scripts " in *" test "*) repo_steps+=", $(step test '["npm", "test"]')"; repo_layout+=", npm test" ;; esac
    repo_steps+="]"
    return 0
  fi
  if has Cargo.toml; then
    repo_steps="[$(step build '["cargo", "build"]'), $(step test '["cargo", "test"]' 900)]"
    repo_layout="cargo: cargo build, cargo test"
    return 0
  fi
  if has go.mod; then
    repo_steps="[$(step build '["go", "build", "./..."]'), $(step test '["go", "test", "./..."]' 900)]"
    repo_layout="Go module: go build ./..., go test ./..."
    return 0
  fi
  if has pyproject.toml || has setup.py || has pytest.ini || has setup.cfg || has tox.ini ||
     grep -qE '(^|/)(test_[^/]*|[^/]*_test)\.py$' <<<"$(git -C "$src" ls-tree -r --name-only HEAD)"; then
    repo_steps="[$(step test '["python3", "-m", "pytest", "-q"]' 900)]"
    repo_layout="Python: python3 -m pytest -q"
    return 0
  fi
  return 1
}

# What the run will use, decided without starting or writing anything:
# repo_* variables and, from an existing settings file, S[key]. Exits 2
# with the fix when the repository or the roadmap is not usable.
declare -A S=()
repo_plan() { # path roadmap-or-empty state-root
  local path=$1 roadmap=$2 root=$3 key value
  [ -d "$path" ] || repo_die "--repo $path: no such directory"
  repo_src=$(cd "$path" && pwd)
  git -C "$repo_src" rev-parse --git-dir >/dev/null 2>&1 ||
    repo_die "--repo $repo_src is not a git repository (git init && git add -A && git commit -m initial)"
  git -C "$repo_src" rev-parse --verify -q HEAD >/dev/null ||
    repo_die "--repo $repo_src has no commit yet (git add -A && git commit -m initial)"
  repo_name=$(basename "$repo_src" | tr -c 'A-Za-z0-9_.\n-' '-')
  repo_name=${repo_name#.}
  repo_name=${repo_name%.git}
  repo_state="$root/repos/$repo_name"
  repo_settings="$repo_state/orchestrator.json"
  repo_resume=0
  if [ -f "$repo_settings" ]; then
    repo_resume=1
    while IFS='=' read -r key value; do S[$key]=$value; done < <(node scripts/lib/settings.js flat "$repo_settings")
    [ "${S[project.source]:-}" = "$repo_src" ] ||
      repo_die "$repo_settings belongs to ${S[project.source]:-another repository}, not $repo_src: set ORCH_DEMO_DIR to another directory"
    repo_base=${S[project.base]:-}
    [ -n "$repo_base" ] || repo_die "$repo_settings: project.base is missing (the branch the work is merged into)"
    repo_layout="${S[project.layout]:-as in the settings}"
  else
    repo_base=$(git -C "$repo_src" symbolic-ref --short -q HEAD) ||
      repo_die "$repo_src has no branch checked out (a detached HEAD): git -C $repo_src switch BRANCH, the branch the work is to be merged into"
    repo_detect "$repo_src" ||
      repo_die "no build steps found in $repo_src (looked for a Makefile, CMakeLists.txt, package.json, Cargo.toml, go.mod, pytest); write them as \"steps\" of a projects file (config/projects.sample.json) into $repo_settings under \"project\", or add a Makefile with all and test"
  fi
  if [ -n "$roadmap" ]; then
    [ -f "$roadmap" ] || repo_die "--roadmap $roadmap: no such file"
    repo_roadmap=$(cd "$(dirname "$roadmap")" && pwd)/$(basename "$roadmap")
  elif [ -f "$repo_state/roadmap.md" ]; then
    repo_roadmap=
  else
    repo_die "the first run on $repo_src needs a roadmap: --roadmap FILE (the format: examples/roadmap.md)"
  fi
}

# The agent CLIs of the settings as run.sh's --agent takes them
# (claude,frontend=codex); empty when there are no settings yet.
repo_agent_spec() {
  local t spec=
  [ $repo_resume -eq 1 ] || return 0
  for t in "${repo_types[@]}"; do
    [ -n "${S[agents.$t.cli]:-}" ] && spec+="${spec:+,}$t=${S[agents.$t.cli]}"
  done
  printf '%s\n' "$spec"
}

# What a run would use, for --plan (nothing is written).
repo_show_plan() { # agents
  echo "repository: $repo_src (branch $repo_base, read only)"
  echo "copy:       $repo_state/repo.git"
  echo "layout:     $repo_layout"
  if [ $repo_resume -eq 1 ]; then
    echo "steps:      ${S[project.steps]}"
    echo "settings:   $repo_settings (there: the run reuses them and resumes)"
  else
    echo "steps:      $repo_steps"
    echo "settings:   $repo_settings (written by the first run)"
  fi
  echo "agents:     $1"
  echo "roadmap:    ${repo_roadmap:-$repo_state/roadmap.md}"
}

# Makes the copy and writes the settings (first run), the verifier's
# projects file and the roadmap. agents: the spec run.sh settled on.
repo_prepare() { # agents web-port
  local agents=$1 web_port=$2 t cli model cheap initial
  mkdir -p "$repo_state"
  if [ ! -d "$repo_state/repo.git" ]; then
    if [ "$(git -C "$repo_src" rev-parse --is-bare-repository)" = false ] &&
       [ -n "$(git -C "$repo_src" status --porcelain --untracked-files=no)" ]; then
      echo "   note: $repo_src has uncommitted changes; the copy holds its last commit only"
    fi
    git clone -q --bare --no-local "$repo_src" "$repo_state/repo.git"
    git -C "$repo_state/repo.git" symbolic-ref HEAD "refs/heads/$repo_base"
  fi
  if [ $repo_resume -eq 0 ]; then
    local from agents_json= sep=
    from=$(git -C "$repo_src" rev-parse HEAD)
    declare -A cli_of=()
    IFS=, read -ra parts <<<"$agents"
    for p in "${parts[@]}"; do case "$p" in *=*) cli_of[${p%%=*}]=${p#*=} ;; *) cli_of[_]=$p ;; esac; done
    for t in "${repo_types[@]}"; do
      cli=${cli_of[$t]:-${cli_of[_]:-claude}}
      cheap=; [ "$cli" = claude ] && cheap=claude-haiku-4-5
      initial=1
      agents_json+="$sep    \"$t\": {\"cli\": \"$cli\", \"model\": \"\", \"cheap_model\": \"$cheap\", \"initial\": $initial}"
      sep=$',\n'
    done
    cat > "$repo_settings.new" <<JSON
{
  "_about": "Settings of scripts/run.sh --repo for $repo_src, written by its first run and read by every run after it; edit them while the suite is stopped. scripts/run.sh --help and README.md ('Use it on your repository') explain each.",
  "project": {
    "name": "$repo_name",
    "source": "$repo_src",
    "copy": "$repo_state/repo.git",
    "base": "$repo_base",
    "copied_at": "$from",
    "layout": "$repo_layout",
    "steps": $repo_steps
  },
  "agents": {
$agents_json
  },
  "agent_timeout_s": 900,
  "budgets_tokens_per_day": {"total": 1000000, "backend": 300000, "frontend": 300000, "database": 100000,
                             "documentation": 50000, "review": 150000, "release": 50000},
  "review": {"merge_train": true, "prompt_file": ""},
  "web_port": $web_port,
  "headless_timeout_s": 3600
}
JSON
    mv "$repo_settings.new" "$repo_settings"
  else
    node scripts/lib/settings.js agents "$repo_settings" "$agents"
  fi
  S=()
  while IFS='=' read -r key value; do S[$key]=$value; done < <(node scripts/lib/settings.js flat "$repo_settings")
  node scripts/lib/settings.js projects "$repo_settings" "$repo_state/projects.json"
  if [ -n "$repo_roadmap" ]; then
    cp "$repo_roadmap" "$repo_state/roadmap.md"
  fi
}

# The scheduler's day budgets and the review policy from the settings, as
# its environment (a variable already set, e.g. ORCH_BUDGET_TOTAL, wins).
repo_export_scheduler() {
  local k v var
  for k in total "${repo_types[@]}"; do
    v=${S[budgets_tokens_per_day.$k]:-}
    var="ORCH_BUDGET_${k^^}"
    [ -n "$v" ] && [ -z "${!var:-}" ] && export "$var=$v"
  done
  [ -n "${S[review.merge_train]:-}" ] && [ -z "${ORCH_SCHEDULER_MERGE_TRAIN:-}" ] &&
    export ORCH_SCHEDULER_MERGE_TRAIN="${S[review.merge_train]}"
  return 0
}

# "backend=1,frontend=1,..." from the settings' agents.<type>.initial.
repo_initial() {
  local t out=
  for t in "${repo_types[@]}"; do out+="${out:+,}$t=${S[agents.$t.initial]:-1}"; done
  printf '%s\n' "$out"
}

# Where the merged work is and how to take it home.
repo_report() {
  local copy=${S[project.copy]:-$repo_state/repo.git} base=${S[project.base]:-$repo_base} from=${S[project.copied_at]:-}
  [ -d "$copy" ] || return 0
  echo
  echo "== the merged work: branch $base of $copy"
  if [ -n "$from" ] && git -C "$copy" cat-file -e "$from" 2>/dev/null; then
    local n
    n=$(git -C "$copy" rev-list --count --first-parent "$from..$base")
    echo "   $n change(s) merged since your $base at ${from:0:12}:"
    git -C "$copy" log --oneline --first-parent -n 20 "$from..$base" | sed 's/^/   /'
  fi
  echo "   your repository $repo_src is untouched. To take the work home:"
  echo "     git -C $repo_src fetch $copy $base:orchestrator/$base"
  echo "     git -C $repo_src merge orchestrator/$base      # or review it, or push it: git push <remote> orchestrator/$base"
  echo "   settings: $repo_settings (the next run reuses them and resumes from $repo_state/nats)"
}
