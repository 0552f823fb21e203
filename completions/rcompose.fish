# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_rcompose_global_optspecs
    string join \n f/file= p/project-name= project-directory= env-file= profile= ansi= progress= verbose h/help V/version
end

function __fish_rcompose_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_rcompose_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_rcompose_using_subcommand
    set -l cmd (__fish_rcompose_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c rcompose -n "__fish_rcompose_needs_command" -s f -l file -d 'Compose file(s) to read, in order; `-` reads standard input [env: COMPOSE_FILE]' -r
complete -c rcompose -n "__fish_rcompose_needs_command" -s p -l project-name -d 'Project name [env: COMPOSE_PROJECT_NAME]' -r
complete -c rcompose -n "__fish_rcompose_needs_command" -l project-directory -d 'Directory relative paths are resolved against (default: the first file\'s)' -r -F
complete -c rcompose -n "__fish_rcompose_needs_command" -l env-file -d 'Env file(s) for interpolation instead of the project\'s `.env`' -r -F
complete -c rcompose -n "__fish_rcompose_needs_command" -l profile -d 'Enable services of a profile [env: COMPOSE_PROFILES]' -r
complete -c rcompose -n "__fish_rcompose_needs_command" -l ansi -d 'When to color output (NO_COLOR also turns color off)' -r -f -a "never\t''
always\t''
auto\t''"
complete -c rcompose -n "__fish_rcompose_needs_command" -l progress -d 'How to show progress' -r -f -a "auto\t''
tty\t''
plain\t''
quiet\t''"
complete -c rcompose -n "__fish_rcompose_needs_command" -l verbose -d 'Print what rcompose sees and decides: engine events, each dependency check [env: RCOMPOSE_DEBUG]'
complete -c rcompose -n "__fish_rcompose_needs_command" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_needs_command" -s V -l version -d 'Print version'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "up" -d 'Create and start containers (and the built-in proxy)'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "down" -d 'Stop and remove containers and networks'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "logs" -d 'Show container output'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "ps" -d 'List containers'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "build" -d 'Build or rebuild service images'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "pull" -d 'Pull service images'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "start" -d 'Start existing containers'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "stop" -d 'Stop running containers without removing them'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "restart" -d 'Restart containers'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "config" -d 'Validate and show the normalized project'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "convert" -d 'Convert the project for a cluster (`--to kubernetes`), or print it as `config` does'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "stack" -d 'Deploy the project to a Docker Swarm, and list or remove stacks'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "proxy" -d 'Serve an nginx.conf with the built-in proxy, as `nginx -c FILE` would'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "exec" -d 'Execute a command in a running container'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "run" -d 'Run a one-off command on a service'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "kill" -d 'Force stop service containers'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "rm" -d 'Remove stopped service containers'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "pause" -d 'Pause services'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "unpause" -d 'Unpause services'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "port" -d 'Print the public address and port for a port binding'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "top" -d 'Display the running processes'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "create" -d 'Create containers without starting them'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "scale" -d 'Scale services'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "wait" -d 'Block until the containers of services stop; the first one\'s exit status'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "ls" -d 'List running compose projects (made by rcompose or docker compose)'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "images" -d 'List images used by the created containers'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "attach" -d 'Attach local standard input, output, and error streams to a service\'s running container'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "events" -d 'Receive real time events from containers'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "watch" -d 'Watch the build context for services and rebuild/refresh containers when files are updated'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "cp" -d 'Copy files/folders between a service container and the local filesystem'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "stats" -d 'Display a live stream of container(s) resource usage statistics'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "push" -d 'Push service images'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "proxy-daemon" -d 'Serve one service\'s nginx configuration, detached (started by `up -d`)'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "version" -d 'Show the rcompose version'
complete -c rcompose -n "__fish_rcompose_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rcompose -n "__fish_rcompose_using_subcommand up" -l pull -d 'When to pull images' -r -f -a "always\t''
missing\t''
never\t''"
complete -c rcompose -n "__fish_rcompose_using_subcommand up" -l scale -d 'Run NUM containers of SERVICE, whatever `scale` or `deploy.replicas` say' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand up" -l wait-timeout -d 'Seconds to wait with --wait' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand up" -s t -l timeout -d 'Shutdown timeout in seconds' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand up" -l attach -d 'Show only these services\' output (repeatable)' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand up" -l no-attach -d 'Do not show these services\' output (repeatable)' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand up" -l exit-code-from -d 'Return this service\'s exit code (implies --abort-on-container-exit)' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand up" -s d -l detach -d 'Run in the background'
complete -c rcompose -n "__fish_rcompose_using_subcommand up" -s w -l watch -d 'Watch source code and rebuild/refresh containers when files are updated'
complete -c rcompose -n "__fish_rcompose_using_subcommand up" -l build -d 'Build images before starting'
complete -c rcompose -n "__fish_rcompose_using_subcommand up" -l no-build -d 'Do not build images, even when missing'
complete -c rcompose -n "__fish_rcompose_using_subcommand up" -l force-recreate -d 'Recreate containers even if unchanged'
complete -c rcompose -n "__fish_rcompose_using_subcommand up" -l no-recreate -d 'Never recreate existing containers'
complete -c rcompose -n "__fish_rcompose_using_subcommand up" -l no-deps -d 'Do not start the named services\' dependencies'
complete -c rcompose -n "__fish_rcompose_using_subcommand up" -l remove-orphans -d 'Remove containers of services no longer in the file'
complete -c rcompose -n "__fish_rcompose_using_subcommand up" -l wait -d 'Wait until services are running or healthy (implies -d)'
complete -c rcompose -n "__fish_rcompose_using_subcommand up" -l abort-on-container-exit -d 'Stop everything when any container stops'
complete -c rcompose -n "__fish_rcompose_using_subcommand up" -l attach-dependencies -d 'Show the output of the named services\' dependencies too'
complete -c rcompose -n "__fish_rcompose_using_subcommand up" -l no-color -d 'Monochrome output'
complete -c rcompose -n "__fish_rcompose_using_subcommand up" -l no-log-prefix -d 'Do not prefix log lines with the service name'
complete -c rcompose -n "__fish_rcompose_using_subcommand up" -l timestamps -d 'Show timestamps'
complete -c rcompose -n "__fish_rcompose_using_subcommand up" -l no-start -d 'Create containers without starting them'
complete -c rcompose -n "__fish_rcompose_using_subcommand up" -l quiet-pull -d 'Pull without printing progress'
complete -c rcompose -n "__fish_rcompose_using_subcommand up" -l no-builtin-proxy -d 'Run a real nginx container instead of serving its configuration in-process'
complete -c rcompose -n "__fish_rcompose_using_subcommand up" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand down" -l rmi -d 'Remove images: `local` (built ones) or `all`' -r -f -a "local\t''
all\t''"
complete -c rcompose -n "__fish_rcompose_using_subcommand down" -s t -l timeout -d 'Shutdown timeout in seconds' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand down" -s v -l volumes -d 'Also remove named volumes and anonymous volumes'
complete -c rcompose -n "__fish_rcompose_using_subcommand down" -l remove-orphans -d 'Remove containers of services no longer in the file'
complete -c rcompose -n "__fish_rcompose_using_subcommand down" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand logs" -s n -l tail -d 'Number of lines from the end of each log (or `all`)' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand logs" -l since -d 'Show logs since a timestamp or relative time (42m)' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand logs" -l until -d 'Show logs before a timestamp or relative time' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand logs" -s f -l follow -d 'Follow log output'
complete -c rcompose -n "__fish_rcompose_using_subcommand logs" -s t -l timestamps -d 'Show timestamps'
complete -c rcompose -n "__fish_rcompose_using_subcommand logs" -l no-color -d 'Monochrome output'
complete -c rcompose -n "__fish_rcompose_using_subcommand logs" -l no-log-prefix -d 'Do not prefix lines with the service name'
complete -c rcompose -n "__fish_rcompose_using_subcommand logs" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand ps" -l status -d 'Filter by state (running, exited, ...)' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand ps" -l filter -d 'Filter services by a property (supported filters: status)' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand ps" -l format -d 'Output format: table, json, or a Go template such as \'{{.Name}}\\t{{.Status}}\' (\'table ...\' adds a header row)' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand ps" -s a -l all -d 'Show stopped containers too'
complete -c rcompose -n "__fish_rcompose_using_subcommand ps" -s q -l quiet -d 'Only show IDs'
complete -c rcompose -n "__fish_rcompose_using_subcommand ps" -l services -d 'Show service names'
complete -c rcompose -n "__fish_rcompose_using_subcommand ps" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand build" -l build-arg -d 'Build-time variables (KEY=VALUE)' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand build" -l no-cache -d 'Do not use the cache'
complete -c rcompose -n "__fish_rcompose_using_subcommand build" -l pull -d 'Always try to pull newer base images'
complete -c rcompose -n "__fish_rcompose_using_subcommand build" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand pull" -l ignore-pull-failures -d 'Go on when an image cannot be pulled'
complete -c rcompose -n "__fish_rcompose_using_subcommand pull" -s q -l quiet -d 'Pull without printing progress'
complete -c rcompose -n "__fish_rcompose_using_subcommand pull" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand start" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand stop" -s t -l timeout -d 'Shutdown timeout in seconds' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand stop" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand restart" -s t -l timeout -d 'Shutdown timeout in seconds' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand restart" -l no-deps -d 'Don\'t restart services that depend on these with `restart: true`'
complete -c rcompose -n "__fish_rcompose_using_subcommand restart" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand config" -l format -d 'Output format' -r -f -a "yaml\t''
json\t''"
complete -c rcompose -n "__fish_rcompose_using_subcommand config" -l hash -d 'Print the config-hash of these services (comma-separated, or "*" for all), one "SERVICE HASH" per line: the label that decides recreation' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand config" -s o -l output -d 'Write the output to this file instead of standard output' -r -F
complete -c rcompose -n "__fish_rcompose_using_subcommand config" -l services -d 'Print the service names, one per line'
complete -c rcompose -n "__fish_rcompose_using_subcommand config" -l volumes -d 'Print the volume names, one per line'
complete -c rcompose -n "__fish_rcompose_using_subcommand config" -l networks -d 'Print the network names, one per line'
complete -c rcompose -n "__fish_rcompose_using_subcommand config" -l profiles -d 'Print the profile names, one per line'
complete -c rcompose -n "__fish_rcompose_using_subcommand config" -l images -d 'Print the image of each service, one per line'
complete -c rcompose -n "__fish_rcompose_using_subcommand config" -s q -l quiet -d 'Only validate; print nothing'
complete -c rcompose -n "__fish_rcompose_using_subcommand config" -l no-interpolate -d 'Leave ${VAR} as written'
complete -c rcompose -n "__fish_rcompose_using_subcommand config" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand convert" -l to -d 'What to convert to: the normalized compose file, or Kubernetes manifests' -r -f -a "compose\t''
kubernetes\t''"
complete -c rcompose -n "__fish_rcompose_using_subcommand convert" -l format -d 'Output format' -r -f -a "yaml\t''
json\t''"
complete -c rcompose -n "__fish_rcompose_using_subcommand convert" -l hash -d 'Print the config-hash of these services (comma-separated, or "*" for all), one "SERVICE HASH" per line: the label that decides recreation' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand convert" -s o -l output -d 'Write the output to this file instead of standard output' -r -F
complete -c rcompose -n "__fish_rcompose_using_subcommand convert" -l services -d 'Print the service names, one per line'
complete -c rcompose -n "__fish_rcompose_using_subcommand convert" -l volumes -d 'Print the volume names, one per line'
complete -c rcompose -n "__fish_rcompose_using_subcommand convert" -l networks -d 'Print the network names, one per line'
complete -c rcompose -n "__fish_rcompose_using_subcommand convert" -l profiles -d 'Print the profile names, one per line'
complete -c rcompose -n "__fish_rcompose_using_subcommand convert" -l images -d 'Print the image of each service, one per line'
complete -c rcompose -n "__fish_rcompose_using_subcommand convert" -s q -l quiet -d 'Only validate; print nothing'
complete -c rcompose -n "__fish_rcompose_using_subcommand convert" -l no-interpolate -d 'Leave ${VAR} as written'
complete -c rcompose -n "__fish_rcompose_using_subcommand convert" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand stack; and not __fish_seen_subcommand_from deploy ls ps services rm help" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand stack; and not __fish_seen_subcommand_from deploy ls ps services rm help" -f -a "deploy" -d 'Deploy the project as a stack, or update it; depends_on is waited for'
complete -c rcompose -n "__fish_rcompose_using_subcommand stack; and not __fish_seen_subcommand_from deploy ls ps services rm help" -f -a "ls" -d 'List stacks'
complete -c rcompose -n "__fish_rcompose_using_subcommand stack; and not __fish_seen_subcommand_from deploy ls ps services rm help" -f -a "ps" -d 'List the tasks of the stack'
complete -c rcompose -n "__fish_rcompose_using_subcommand stack; and not __fish_seen_subcommand_from deploy ls ps services rm help" -f -a "services" -d 'List the services of the stack'
complete -c rcompose -n "__fish_rcompose_using_subcommand stack; and not __fish_seen_subcommand_from deploy ls ps services rm help" -f -a "rm" -d 'Remove the stack'
complete -c rcompose -n "__fish_rcompose_using_subcommand stack; and not __fish_seen_subcommand_from deploy ls ps services rm help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rcompose -n "__fish_rcompose_using_subcommand stack; and __fish_seen_subcommand_from deploy" -l registry -d 'Push images built here to this registry (`HOST[:PORT]`) and run them from it' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand stack; and __fish_seen_subcommand_from deploy" -l no-builtin-proxy -d 'Run the nginx container instead of rcompose\'s proxy image'
complete -c rcompose -n "__fish_rcompose_using_subcommand stack; and __fish_seen_subcommand_from deploy" -l prune -d 'Remove services of the stack no longer in the files'
complete -c rcompose -n "__fish_rcompose_using_subcommand stack; and __fish_seen_subcommand_from deploy" -l dry-run -d 'Print the plan and change nothing'
complete -c rcompose -n "__fish_rcompose_using_subcommand stack; and __fish_seen_subcommand_from deploy" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand stack; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand stack; and __fish_seen_subcommand_from ps" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand stack; and __fish_seen_subcommand_from services" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand stack; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand stack; and __fish_seen_subcommand_from help" -f -a "deploy" -d 'Deploy the project as a stack, or update it; depends_on is waited for'
complete -c rcompose -n "__fish_rcompose_using_subcommand stack; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List stacks'
complete -c rcompose -n "__fish_rcompose_using_subcommand stack; and __fish_seen_subcommand_from help" -f -a "ps" -d 'List the tasks of the stack'
complete -c rcompose -n "__fish_rcompose_using_subcommand stack; and __fish_seen_subcommand_from help" -f -a "services" -d 'List the services of the stack'
complete -c rcompose -n "__fish_rcompose_using_subcommand stack; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Remove the stack'
complete -c rcompose -n "__fish_rcompose_using_subcommand stack; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rcompose -n "__fish_rcompose_using_subcommand proxy" -s c -d 'The nginx configuration file' -r -F
complete -c rcompose -n "__fish_rcompose_using_subcommand proxy" -s p -d 'Prefix that relative paths in the configuration resolve against' -r -F
complete -c rcompose -n "__fish_rcompose_using_subcommand proxy" -s t -d 'Check the configuration and exit'
complete -c rcompose -n "__fish_rcompose_using_subcommand proxy" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand exec" -s e -l env -d 'Set environment variables (KEY=VALUE, or KEY to pass this shell\'s value)' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand exec" -l index -d 'Index of the container if the service has several replicas' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand exec" -s u -l user -d 'Run the command as this user' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand exec" -s w -l workdir -d 'Path to the working directory for the command' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand exec" -s d -l detach -d 'Detached mode: run the command in the background'
complete -c rcompose -n "__fish_rcompose_using_subcommand exec" -s T -l no-TTY -d 'Disable pseudo-TTY allocation'
complete -c rcompose -n "__fish_rcompose_using_subcommand exec" -l privileged -d 'Give extended privileges to the process'
complete -c rcompose -n "__fish_rcompose_using_subcommand exec" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand run" -l entrypoint -d 'Override the image\'s entrypoint' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand run" -s e -l env -d 'Set environment variables (KEY=VALUE, or KEY to pass this shell\'s value)' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand run" -s i -l interactive -d 'Keep standard input open (on by default)' -r -f -a "true\t''
false\t''"
complete -c rcompose -n "__fish_rcompose_using_subcommand run" -s l -l label -d 'Add or override a label' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand run" -l name -d 'Name the container' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand run" -s p -l publish -d 'Publish a container\'s port to the host' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand run" -l pull -d 'Pull the image before running' -r -f -a "always\t''
missing\t''
never\t''"
complete -c rcompose -n "__fish_rcompose_using_subcommand run" -s u -l user -d 'Run as this user' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand run" -s v -l volume -d 'Bind-mount a volume' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand run" -s w -l workdir -d 'Working directory inside the container' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand run" -l build -d 'Build the image before starting the container'
complete -c rcompose -n "__fish_rcompose_using_subcommand run" -s d -l detach -d 'Run the container in the background and print its id'
complete -c rcompose -n "__fish_rcompose_using_subcommand run" -s T -l no-TTY -d 'Disable pseudo-TTY allocation (default: a TTY when there is a terminal)'
complete -c rcompose -n "__fish_rcompose_using_subcommand run" -l no-deps -d 'Don\'t start linked services'
complete -c rcompose -n "__fish_rcompose_using_subcommand run" -l quiet-pull -d 'Pull without printing progress'
complete -c rcompose -n "__fish_rcompose_using_subcommand run" -l rm -d 'Remove the container when it exits'
complete -c rcompose -n "__fish_rcompose_using_subcommand run" -s P -l service-ports -d 'Run with the service\'s ports published'
complete -c rcompose -n "__fish_rcompose_using_subcommand run" -l use-aliases -d 'Use the service\'s network aliases in the networks it joins'
complete -c rcompose -n "__fish_rcompose_using_subcommand run" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand kill" -s s -l signal -d 'The signal to send' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand kill" -l remove-orphans -d 'Remove containers for services not defined in the Compose file'
complete -c rcompose -n "__fish_rcompose_using_subcommand kill" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand rm" -s f -l force -d 'Don\'t ask to confirm removal'
complete -c rcompose -n "__fish_rcompose_using_subcommand rm" -s s -l stop -d 'Stop the containers, if required, before removing'
complete -c rcompose -n "__fish_rcompose_using_subcommand rm" -s v -l volumes -d 'Remove any anonymous volumes attached to containers'
complete -c rcompose -n "__fish_rcompose_using_subcommand rm" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand pause" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand unpause" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand port" -l index -d 'Index of the container if the service has several replicas' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand port" -l protocol -d 'tcp or udp' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand port" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand top" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand create" -l pull -d 'Pull images before creating' -r -f -a "always\t''
missing\t''
never\t''"
complete -c rcompose -n "__fish_rcompose_using_subcommand create" -l scale -d 'Scale SERVICE to NUM instances' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand create" -l build -d 'Build images before creating containers'
complete -c rcompose -n "__fish_rcompose_using_subcommand create" -l no-build -d 'Don\'t build an image, even if it\'s missing'
complete -c rcompose -n "__fish_rcompose_using_subcommand create" -l force-recreate -d 'Recreate containers even if their configuration and image haven\'t changed'
complete -c rcompose -n "__fish_rcompose_using_subcommand create" -l no-recreate -d 'If containers already exist, don\'t recreate them'
complete -c rcompose -n "__fish_rcompose_using_subcommand create" -l quiet-pull -d 'Pull without printing progress'
complete -c rcompose -n "__fish_rcompose_using_subcommand create" -l remove-orphans -d 'Remove containers for services not defined in the Compose file'
complete -c rcompose -n "__fish_rcompose_using_subcommand create" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand scale" -l no-deps -d 'Don\'t start linked services'
complete -c rcompose -n "__fish_rcompose_using_subcommand scale" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand wait" -l down-project -d 'Drop the project once the first container stops'
complete -c rcompose -n "__fish_rcompose_using_subcommand wait" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand ls" -l filter -d 'Filter output based on conditions provided (name=TEXT)' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand ls" -l format -d 'Format the output: table or json' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand ls" -s a -l all -d 'Show all stopped Compose projects'
complete -c rcompose -n "__fish_rcompose_using_subcommand ls" -s q -l quiet -d 'Only display project names'
complete -c rcompose -n "__fish_rcompose_using_subcommand ls" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand images" -l format -d 'Format the output: table or json' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand images" -s q -l quiet -d 'Only display image ids'
complete -c rcompose -n "__fish_rcompose_using_subcommand images" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand attach" -l index -d 'Index of the container if the service has several replicas' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand attach" -l no-stdin -d 'Do not attach standard input'
complete -c rcompose -n "__fish_rcompose_using_subcommand attach" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand events" -l since -d 'Show all events created since timestamp' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand events" -l until -d 'Stream events until this timestamp' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand events" -l json -d 'Output events as a stream of json objects'
complete -c rcompose -n "__fish_rcompose_using_subcommand events" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand watch" -l prune -d 'Remove the image a rebuild leaves dangling (`--prune=false` keeps it)' -r -f -a "true\t''
false\t''"
complete -c rcompose -n "__fish_rcompose_using_subcommand watch" -l no-up -d 'Do not build and start the services before watching'
complete -c rcompose -n "__fish_rcompose_using_subcommand watch" -l quiet -d 'Hide the build output of rebuilds'
complete -c rcompose -n "__fish_rcompose_using_subcommand watch" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand cp" -l index -d 'Index of the container if the service has several replicas' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand cp" -l all -d 'Include containers created by the run command'
complete -c rcompose -n "__fish_rcompose_using_subcommand cp" -s a -l archive -d 'Archive mode (copy all uid/gid information)'
complete -c rcompose -n "__fish_rcompose_using_subcommand cp" -s L -l follow-link -d 'Always follow symbol link in SRC_PATH'
complete -c rcompose -n "__fish_rcompose_using_subcommand cp" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand stats" -l format -d '`table` (the default), `json`, or a Go template of docker\'s fields' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand stats" -s a -l all -d 'Show all containers (default shows just running)'
complete -c rcompose -n "__fish_rcompose_using_subcommand stats" -l no-stream -d 'Disable streaming stats and only pull the first result'
complete -c rcompose -n "__fish_rcompose_using_subcommand stats" -l no-trunc -d 'Do not truncate output'
complete -c rcompose -n "__fish_rcompose_using_subcommand stats" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand push" -l ignore-push-failures -d 'Push what it can and ignore failures'
complete -c rcompose -n "__fish_rcompose_using_subcommand push" -l include-deps -d 'Also push images of the services the named ones depend on'
complete -c rcompose -n "__fish_rcompose_using_subcommand push" -s q -l quiet -d 'Push without printing progress'
complete -c rcompose -n "__fish_rcompose_using_subcommand push" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand completions" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand proxy-daemon" -l child -d 'Serve directly (the supervisor of a restarting service starts this)'
complete -c rcompose -n "__fish_rcompose_using_subcommand proxy-daemon" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand version" -s f -l format -d 'Format the output: pretty or json' -r
complete -c rcompose -n "__fish_rcompose_using_subcommand version" -l short -d 'Print only the version number'
complete -c rcompose -n "__fish_rcompose_using_subcommand version" -s h -l help -d 'Print help'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "up" -d 'Create and start containers (and the built-in proxy)'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "down" -d 'Stop and remove containers and networks'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "logs" -d 'Show container output'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "ps" -d 'List containers'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "build" -d 'Build or rebuild service images'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "pull" -d 'Pull service images'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "start" -d 'Start existing containers'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "stop" -d 'Stop running containers without removing them'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "restart" -d 'Restart containers'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "config" -d 'Validate and show the normalized project'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "convert" -d 'Convert the project for a cluster (`--to kubernetes`), or print it as `config` does'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "stack" -d 'Deploy the project to a Docker Swarm, and list or remove stacks'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "proxy" -d 'Serve an nginx.conf with the built-in proxy, as `nginx -c FILE` would'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "exec" -d 'Execute a command in a running container'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "run" -d 'Run a one-off command on a service'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "kill" -d 'Force stop service containers'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "rm" -d 'Remove stopped service containers'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "pause" -d 'Pause services'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "unpause" -d 'Unpause services'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "port" -d 'Print the public address and port for a port binding'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "top" -d 'Display the running processes'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "create" -d 'Create containers without starting them'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "scale" -d 'Scale services'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "wait" -d 'Block until the containers of services stop; the first one\'s exit status'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "ls" -d 'List running compose projects (made by rcompose or docker compose)'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "images" -d 'List images used by the created containers'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "attach" -d 'Attach local standard input, output, and error streams to a service\'s running container'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "events" -d 'Receive real time events from containers'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "watch" -d 'Watch the build context for services and rebuild/refresh containers when files are updated'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "cp" -d 'Copy files/folders between a service container and the local filesystem'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "stats" -d 'Display a live stream of container(s) resource usage statistics'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "push" -d 'Push service images'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "completions" -d 'Print a shell completion script'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "proxy-daemon" -d 'Serve one service\'s nginx configuration, detached (started by `up -d`)'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "version" -d 'Show the rcompose version'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and not __fish_seen_subcommand_from up down logs ps build pull start stop restart config convert stack proxy exec run kill rm pause unpause port top create scale wait ls images attach events watch cp stats push completions proxy-daemon version help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and __fish_seen_subcommand_from stack" -f -a "deploy" -d 'Deploy the project as a stack, or update it; depends_on is waited for'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and __fish_seen_subcommand_from stack" -f -a "ls" -d 'List stacks'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and __fish_seen_subcommand_from stack" -f -a "ps" -d 'List the tasks of the stack'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and __fish_seen_subcommand_from stack" -f -a "services" -d 'List the services of the stack'
complete -c rcompose -n "__fish_rcompose_using_subcommand help; and __fish_seen_subcommand_from stack" -f -a "rm" -d 'Remove the stack'
