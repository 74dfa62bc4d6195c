# fish completion for sandbox(1). Installed as share/fish/vendor_completions.d/sandbox.fish.

# Profile names with their descriptions: the unindented lines of `sandbox profiles`.
function __sandbox_profiles
    sandbox profiles 2>/dev/null | string match -rv '^(\s|\(|$)' | string replace -r '^(\S+)\s+(.*)$' '$1\t$2'
end

# Apps with a home layer: the directories in $XDG_DATA_HOME/sandbox.
function __sandbox_apps
    set -l data $HOME/.local/share
    set -q XDG_DATA_HOME[1]; and set data $XDG_DATA_HOME
    for dir in $data/sandbox/*/
        basename $dir
    end
end

# Running sandboxes: ID and APP columns of `sandbox ps`.
function __sandbox_instances
    sandbox ps 2>/dev/null | string match -rv '^ID\s' | string replace -r '^(\S+)\s+(\S+).*$' '$1\t$2'
end

# Apps with sandboxed menu entries: the APP column of `sandbox desktop list`.
function __sandbox_desktop_apps
    sandbox desktop list 2>/dev/null | string match -rv '^FILE\s' | string replace -r '^\S+\s+(\S+).*$' '$1'
end

set -l subcommands run explain check profiles diff commit reset ps enter stop desktop help version
set -l no_subcommand "not __fish_seen_subcommand_from $subcommands"

complete -c sandbox -f

# Subcommands, and `sandbox APP` for every profile.
complete -c sandbox -n "$no_subcommand" -a run -d 'Run COMMAND under -p PROFILE'
complete -c sandbox -n "$no_subcommand" -a explain -d 'Say what a profile can and cannot reach'
complete -c sandbox -n "$no_subcommand" -a check -d 'Validate profiles'
complete -c sandbox -n "$no_subcommand" -a profiles -d 'List profiles'
complete -c sandbox -n "$no_subcommand" -a diff -d 'What an app changed in your home'
complete -c sandbox -n "$no_subcommand" -a commit -d "Apply an app's changes to your home"
complete -c sandbox -n "$no_subcommand" -a reset -d "Drop an app's changes"
complete -c sandbox -n "$no_subcommand" -a ps -d 'Running sandboxes'
complete -c sandbox -n "$no_subcommand" -a enter -d 'Run a command inside a running sandbox'
complete -c sandbox -n "$no_subcommand" -a stop -d 'Stop running sandboxes'
complete -c sandbox -n "$no_subcommand" -a desktop -d 'Sandboxed menu entries'
complete -c sandbox -n "$no_subcommand" -a help -d 'Show the help'
complete -c sandbox -n "$no_subcommand" -a version -d 'Show the version'
complete -c sandbox -n "$no_subcommand" -a '(__sandbox_profiles)'

# Operands of each subcommand.
complete -c sandbox -n '__fish_seen_subcommand_from run' -a '(__fish_complete_command)' -F
complete -c sandbox -n '__fish_seen_subcommand_from explain check' -a '(__sandbox_profiles)'
complete -c sandbox -n '__fish_seen_subcommand_from diff commit reset' -a '(__sandbox_apps)'
complete -c sandbox -n '__fish_seen_subcommand_from enter stop' -a '(__sandbox_instances)'
complete -c sandbox -n '__fish_seen_subcommand_from desktop; and not __fish_seen_subcommand_from install remove list' -a 'install remove list'
complete -c sandbox -n '__fish_seen_subcommand_from desktop; and __fish_seen_subcommand_from install' -a '(__sandbox_profiles)'
complete -c sandbox -n '__fish_seen_subcommand_from desktop; and __fish_seen_subcommand_from remove' -a '(__sandbox_desktop_apps)'

# Options (launcher/cli.cc; `sandbox --help`).
complete -c sandbox -s p -l profile -x -a '(__sandbox_profiles)' -d 'Profile name, or a YAML file'
complete -c sandbox -l name -x -d 'App name: names the persistent home layer'
complete -c sandbox -l home -x -a 'overlay ephemeral tmpfs bind ro' -d 'How the home is set up'
complete -c sandbox -l rw -r -F -d 'Bind the real PATH read-write'
complete -c sandbox -l ro -r -F -d 'Bind the real PATH read-only'
complete -c sandbox -l hide -r -F -d 'Make PATH appear empty'
complete -c sandbox -l tmpfs -r -F -d 'Mount an empty tmpfs at PATH'
complete -c sandbox -l net -x -a 'none host filtered' -d 'Network'
complete -c sandbox -l allow -x -d 'Filtered network: allow a host, address or CIDR'
complete -c sandbox -l publish -x -d "Expose the sandbox's PORT on 127.0.0.1"
complete -c sandbox -l net-log -r -F -d 'Write each refused name and connection to FILE'
complete -c sandbox -l env -x -a '(set -n)' -d 'Pass NAME from the host, or set NAME=VALUE'
complete -c sandbox -l seccomp -x -a 'default strict devel' -d 'Seccomp policy'
complete -c sandbox -l memory -x -d 'Memory limit, such as 512M'
complete -c sandbox -l cpu -x -d 'CPU limit in cores'
complete -c sandbox -l pids -x -d 'Limit on processes and threads'
complete -c sandbox -l timeout -x -d 'Stop the sandbox after SECONDS'
complete -c sandbox -l json-status -r -F -d 'Write one JSON record at exit to FILE'
complete -c sandbox -l json-status-fd -x -d 'Write the JSON record to file descriptor N'
complete -c sandbox -s n -l dry-run -d 'Print the resolved sandbox and exit'
complete -c sandbox -l json -d 'Machine-readable output'
complete -c sandbox -l stat -d 'diff: counts and sizes per kind of change'
complete -c sandbox -s f -l force -d 'commit: apply even over conflicts'
complete -c sandbox -s y -l yes -d 'reset: do not ask'
complete -c sandbox -l alongside -d 'desktop install: add a sandboxed entry next to the original'
complete -c sandbox -s v -l verbose -d 'Say what is set up, stage by stage'
complete -c sandbox -s h -l help -d 'Show the help'
complete -c sandbox -s V -l version -d 'Show the version'
