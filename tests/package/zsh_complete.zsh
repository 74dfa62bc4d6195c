#!/bin/zsh -f
# zsh_complete.zsh DIR WORDS...: prints, one a line, what zsh's completion system offers for
# "WORDS<TAB>" with the completion functions in DIR. It drives an interactive zsh in a zpty
# whose compadd prints its matches (the technique of zsh-capture-completion).
dir=$1; shift
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PROMPT=; RPROMPT=; unsetopt zle_bracketed_paste 2>/dev/null; fpath=($dir \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z 'compadd () {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi
  typeset -a __hits; builtin compadd -A __hits "$@"; local ret=$?
  (( $#__hits )) && print -l -- "HIT:"${^__hits}
  return ret
}'
zpty -w z "bindkey '^I' complete-word"
zpty -w z 'null-line () { echo -E - $'"'"'\0'"'"' }'
zpty -w z "compprefuncs=( null-line ); comppostfuncs=( null-line exit )"
zpty -n -w z "$*"$'\t'
integer tog=0
while zpty -r z; do :; done | while IFS= read -r line; do
  [[ $line == *$'\0'* ]] && (( tog++ )) && (( tog >= 2 )) && break
  [[ $line == HIT:* ]] && print -r -- "${${line#HIT:}%$'\r'}"
done
zpty -d z
