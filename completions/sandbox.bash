# bash completion for sandbox(1). Installed as share/bash-completion/completions/sandbox.
# Self-contained: it works without the bash-completion package's helpers.

_sandbox_subcommands="run explain check profiles diff commit reset ps enter stop desktop help version"

# Options that take a value (launcher/cli.cc, takes_value).
_sandbox_takes_value() {
  case $1 in
    -p | --profile | --name | --home | --rw | --ro | --hide | --tmpfs | --net | --allow | \
      --publish | --net-log | --env | --seccomp | --memory | --cpu | --pids | --timeout | \
      --json-status | --json-status-fd) return 0 ;;
  esac
  return 1
}

_sandbox_options="-p --profile --name --home --rw --ro --hide --tmpfs --net --allow --publish
  --net-log --env --seccomp --memory --cpu --pids --timeout -n --dry-run --json --stat -f --force
  -y --yes --alongside --json-status --json-status-fd -v --verbose -h --help -V --version"

# Profile names: the unindented first word of each `sandbox profiles` line.
_sandbox_profile_names() {
  "${COMP_WORDS[0]}" profiles 2>/dev/null | while IFS= read -r line; do
    case $line in "" | " "* | "("*) ;; *) printf '%s\n' "${line%% *}" ;; esac
  done
}

# Apps with a home layer: the directories in $XDG_DATA_HOME/sandbox (not .run and the like).
_sandbox_app_names() {
  local dir=${XDG_DATA_HOME:-$HOME/.local/share}/sandbox d
  for d in "$dir"/*/; do
    [[ -d $d ]] && basename -- "$d"
  done
}

# Running sandboxes: the first column of `sandbox ps`, header skipped.
_sandbox_instance_ids() {
  "${COMP_WORDS[0]}" ps 2>/dev/null | while read -r id _; do
    [[ $id != ID && -n $id ]] && printf '%s\n' "$id"
  done
}

# Apps with menu entries: the APP column of `sandbox desktop list`.
_sandbox_desktop_apps() {
  "${COMP_WORDS[0]}" desktop list 2>/dev/null | while read -r _ app _; do
    [[ $app != APP && -n $app ]] && printf '%s\n' "$app"
  done
}

_sandbox_add() {  # _sandbox_add WORDS...: the words that start with $cur (none has a space)
  COMPREPLY+=($(compgen -W "$*" -- "$cur"))
}

# A profile may also be a YAML file: offered once the word looks like a path.
_sandbox_profile_files() { [[ $cur == */* || $cur == .* || $cur == \~* ]] && _sandbox_files; }

_sandbox_files() { local IFS=$'\n'; COMPREPLY+=($(compgen -f -- "$cur")); compopt -o filenames 2>/dev/null; }
_sandbox_commands() { local IFS=$'\n'; COMPREPLY+=($(compgen -c -- "$cur" | sort -u)); }

_sandbox() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=""
  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
  COMPREPLY=()

  # The value of an option.
  case $prev in
    -p | --profile)
      _sandbox_add "$(_sandbox_profile_names)"
      _sandbox_profile_files
      return ;;
    --home) _sandbox_add "overlay ephemeral tmpfs bind ro"; return ;;
    --net) _sandbox_add "none host filtered"; return ;;
    --seccomp) _sandbox_add "default strict devel"; return ;;
    --rw | --ro | --hide | --tmpfs) _sandbox_files; return ;;
    --net-log | --json-status) _sandbox_files; return ;;
    --env) local IFS=$'\n'; COMPREPLY=($(compgen -v -- "$cur")); return ;;
    --name | --allow | --publish | --memory | --cpu | --pids | --timeout | --json-status-fd)
      return ;;
  esac

  # Find the subcommand (or APP) and the operands after it, skipping options and their values.
  local i word sub="" operands=0 dashdash=0
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${COMP_WORDS[i]}
    if ((dashdash)); then
      ((operands++))
    elif [[ $word == -- ]]; then
      dashdash=1
    elif [[ $word == -* ]]; then
      [[ $word != *=* ]] && _sandbox_takes_value "$word" && ((i++))
    elif [[ -z $sub ]]; then
      sub=$word
    else
      ((operands++))
    fi
  done

  if [[ $cur == -* && $dashdash == 0 ]]; then
    _sandbox_add "$_sandbox_options"
    return
  fi

  case $sub in
    "")
      if ((dashdash)); then
        _sandbox_commands
      else
        _sandbox_add "$_sandbox_subcommands"
        _sandbox_add "$(_sandbox_profile_names)"
      fi ;;
    run)
      if ((operands == 0)); then
        _sandbox_commands
      else
        _sandbox_files
      fi ;;
    explain)
      ((operands == 0)) && { _sandbox_add "$(_sandbox_profile_names)"; _sandbox_profile_files; } ;;
    check)
      _sandbox_add "$(_sandbox_profile_names)"
      _sandbox_profile_files ;;
    diff | commit | reset)
      if ((operands == 0)); then
        _sandbox_add "$(_sandbox_app_names)"
      else
        _sandbox_files  # paths relative to the home, as the app wrote them
      fi ;;
    enter)
      if ((operands == 0)); then
        _sandbox_add "$(_sandbox_instance_ids)"
      else
        _sandbox_commands
      fi ;;
    stop) _sandbox_add "$(_sandbox_instance_ids)" ;;
    desktop)
      if ((operands == 0)); then
        _sandbox_add "install remove list"
      elif ((operands == 1)); then
        local verb i2
        for ((i2 = 1; i2 < COMP_CWORD; i2++)); do
          [[ ${COMP_WORDS[i2]} == desktop ]] && { verb=${COMP_WORDS[i2 + 1]}; break; }
        done
        case $verb in
          install) _sandbox_add "$(_sandbox_profile_names)" ;;
          remove) _sandbox_add "$(_sandbox_desktop_apps)" ;;
        esac
      fi ;;
    profiles | ps | help | version) ;;
    *) _sandbox_files ;;  # sandbox APP ARGS...: the app's own arguments
  esac
}

complete -F _sandbox sandbox
