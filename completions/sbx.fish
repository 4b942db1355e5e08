# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_sbx_global_optspecs
    string join \n h/help V/version
end

function __fish_sbx_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_sbx_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_sbx_using_subcommand
    set -l cmd (__fish_sbx_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c sbx -n "__fish_sbx_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sbx -n "__fish_sbx_needs_command" -s V -l version -d 'Print version'
complete -c sbx -n "__fish_sbx_needs_command" -f -a "run" -d 'Run a command in a sandbox'
complete -c sbx -n "__fish_sbx_needs_command" -f -a "check" -d 'Validate profiles and print every finding with file:line'
complete -c sbx -n "__fish_sbx_needs_command" -f -a "profiles" -d 'List the built-in profiles and the search path'
complete -c sbx -n "__fish_sbx_needs_command" -f -a "show" -d 'Print the merged profile in unit-file syntax'
complete -c sbx -n "__fish_sbx_needs_command" -f -a "syscall-filter" -d 'List systemd\'s syscall groups and their members'
complete -c sbx -n "__fish_sbx_needs_command" -f -a "analyze" -d 'Score a profile like systemd-analyze security, and show what of it holds on this host'
complete -c sbx -n "__fish_sbx_needs_command" -f -a "doctor" -d 'Report what this host lets sbx enforce, and how to fix what is missing'
complete -c sbx -n "__fish_sbx_needs_command" -f -a "generate" -d 'Write the man page or shell completions (for packagers)'
complete -c sbx -n "__fish_sbx_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sbx -n "__fish_sbx_using_subcommand run" -l profile -d 'A profile name (searched in $XDG_CONFIG_HOME/sbx/profiles, /etc/sbx/profiles, then the built-in ones) or a path to a .conf file; repeat to stack profiles like drop-ins. Without it, the built-in "default" profile applies' -r
complete -c sbx -n "__fish_sbx_using_subcommand run" -s p -l property -d 'Set a directive after all profiles, like systemd-run -p (e.g. -p PrivateNetwork=yes)' -r
complete -c sbx -n "__fish_sbx_using_subcommand run" -l unit -d 'Run a systemd service unit in the foreground instead of a COMMAND: its ExecStart= (and ExecStartPre=, ExecStartPost=, ExecCondition=, ExecStopPost=), its sandboxing and its drop-ins (FILE.service.d/ and /etc/systemd/system/NAME.service.d/); --profile and -p apply on top (the default profile does not: the unit is the profile). NAME@INSTANCE.service reads NAME@.service' -r
complete -c sbx -n "__fish_sbx_using_subcommand run" -l name -d 'The unit-like name for %N/%n and the state directory names [default: the command\'s basename, or the unit\'s name]' -r
complete -c sbx -n "__fish_sbx_using_subcommand run" -l dry-run -d 'Print the resolved plan and start nothing'
complete -c sbx -n "__fish_sbx_using_subcommand run" -l json -d 'With --dry-run, print the plan as JSON'
complete -c sbx -n "__fish_sbx_using_subcommand run" -l pty -d 'Give the payload a terminal of its own, relayed by sbx (for interactive programs)'
complete -c sbx -n "__fish_sbx_using_subcommand run" -l best-effort -d 'Where no namespace can be created, run anyway with what needs none (Landlock, seccomp, no_new_privs, capabilities, rlimits) and report every directive that is weakened'
complete -c sbx -n "__fish_sbx_using_subcommand run" -l log-refused -d 'Report every system call the filter refuses, also those refused with an errno (killed ones are always reported)'
complete -c sbx -n "__fish_sbx_using_subcommand run" -l die-with-parent -d 'End sbx and the whole sandbox when the process that started sbx dies (the same as -p DieWithParent=yes; off by default)'
complete -c sbx -n "__fish_sbx_using_subcommand run" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand check" -s p -l property -d 'Overrides to check with them' -r
complete -c sbx -n "__fish_sbx_using_subcommand check" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand profiles" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand show" -s p -l property -r
complete -c sbx -n "__fish_sbx_using_subcommand show" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand syscall-filter" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand analyze" -l profile -d 'A profile name (searched in $XDG_CONFIG_HOME/sbx/profiles, /etc/sbx/profiles, then the built-in ones) or a path to a .conf file; repeat to stack profiles like drop-ins. Without it, the built-in "default" profile applies' -r
complete -c sbx -n "__fish_sbx_using_subcommand analyze" -s p -l property -d 'Set a directive after all profiles, like systemd-run -p (e.g. -p PrivateNetwork=yes)' -r
complete -c sbx -n "__fish_sbx_using_subcommand analyze" -l unit -d 'Score a systemd service unit (with its drop-ins) instead of profiles; --profile and -p apply on top. NAME@INSTANCE.service reads NAME@.service' -r
complete -c sbx -n "__fish_sbx_using_subcommand analyze" -l json -d 'Print the report as JSON: systemd\'s per-check fields, sbx\'s "here" column, the total'
complete -c sbx -n "__fish_sbx_using_subcommand analyze" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sbx -n "__fish_sbx_using_subcommand doctor" -l json -d 'Print the findings as JSON (each with status, summary, details, fixes and impact)'
complete -c sbx -n "__fish_sbx_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sbx -n "__fish_sbx_using_subcommand generate" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand help; and not __fish_seen_subcommand_from run check profiles show syscall-filter analyze doctor generate help" -f -a "run" -d 'Run a command in a sandbox'
complete -c sbx -n "__fish_sbx_using_subcommand help; and not __fish_seen_subcommand_from run check profiles show syscall-filter analyze doctor generate help" -f -a "check" -d 'Validate profiles and print every finding with file:line'
complete -c sbx -n "__fish_sbx_using_subcommand help; and not __fish_seen_subcommand_from run check profiles show syscall-filter analyze doctor generate help" -f -a "profiles" -d 'List the built-in profiles and the search path'
complete -c sbx -n "__fish_sbx_using_subcommand help; and not __fish_seen_subcommand_from run check profiles show syscall-filter analyze doctor generate help" -f -a "show" -d 'Print the merged profile in unit-file syntax'
complete -c sbx -n "__fish_sbx_using_subcommand help; and not __fish_seen_subcommand_from run check profiles show syscall-filter analyze doctor generate help" -f -a "syscall-filter" -d 'List systemd\'s syscall groups and their members'
complete -c sbx -n "__fish_sbx_using_subcommand help; and not __fish_seen_subcommand_from run check profiles show syscall-filter analyze doctor generate help" -f -a "analyze" -d 'Score a profile like systemd-analyze security, and show what of it holds on this host'
complete -c sbx -n "__fish_sbx_using_subcommand help; and not __fish_seen_subcommand_from run check profiles show syscall-filter analyze doctor generate help" -f -a "doctor" -d 'Report what this host lets sbx enforce, and how to fix what is missing'
complete -c sbx -n "__fish_sbx_using_subcommand help; and not __fish_seen_subcommand_from run check profiles show syscall-filter analyze doctor generate help" -f -a "generate" -d 'Write the man page or shell completions (for packagers)'
complete -c sbx -n "__fish_sbx_using_subcommand help; and not __fish_seen_subcommand_from run check profiles show syscall-filter analyze doctor generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
