
use builtin;
use str;

set edit:completion:arg-completer[rcompose] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'rcompose'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'rcompose'= {
            cand -f 'Compose file(s) to read, in order; `-` reads standard input [env: COMPOSE_FILE]'
            cand --file 'Compose file(s) to read, in order; `-` reads standard input [env: COMPOSE_FILE]'
            cand -p 'Project name [env: COMPOSE_PROJECT_NAME]'
            cand --project-name 'Project name [env: COMPOSE_PROJECT_NAME]'
            cand --project-directory 'Directory relative paths are resolved against (default: the first file''s)'
            cand --env-file 'Env file(s) for interpolation instead of the project''s `.env`'
            cand --profile 'Enable services of a profile [env: COMPOSE_PROFILES]'
            cand --ansi 'When to color output (NO_COLOR also turns color off)'
            cand --progress 'How to show progress'
            cand --verbose 'Print what rcompose sees and decides: engine events, each dependency check [env: RCOMPOSE_DEBUG]'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand up 'Create and start containers (and the built-in proxy)'
            cand down 'Stop and remove containers and networks'
            cand logs 'Show container output'
            cand ps 'List containers'
            cand build 'Build or rebuild service images'
            cand pull 'Pull service images'
            cand start 'Start existing containers'
            cand stop 'Stop running containers without removing them'
            cand restart 'Restart containers'
            cand config 'Validate and show the normalized project'
            cand convert 'Convert the project for a cluster (`--to kubernetes`), or print it as `config` does'
            cand stack 'Deploy the project to a Docker Swarm, and list or remove stacks'
            cand proxy 'Serve an nginx.conf with the built-in proxy, as `nginx -c FILE` would'
            cand exec 'Execute a command in a running container'
            cand run 'Run a one-off command on a service'
            cand kill 'Force stop service containers'
            cand rm 'Remove stopped service containers'
            cand pause 'Pause services'
            cand unpause 'Unpause services'
            cand port 'Print the public address and port for a port binding'
            cand top 'Display the running processes'
            cand create 'Create containers without starting them'
            cand scale 'Scale services'
            cand wait 'Block until the containers of services stop; the first one''s exit status'
            cand ls 'List running compose projects (made by rcompose or docker compose)'
            cand images 'List images used by the created containers'
            cand attach 'Attach local standard input, output, and error streams to a service''s running container'
            cand events 'Receive real time events from containers'
            cand watch 'Watch the build context for services and rebuild/refresh containers when files are updated'
            cand cp 'Copy files/folders between a service container and the local filesystem'
            cand stats 'Display a live stream of container(s) resource usage statistics'
            cand push 'Push service images'
            cand completions 'Print a shell completion script'
            cand proxy-daemon 'Serve one service''s nginx configuration, detached (started by `up -d`)'
            cand version 'Show the rcompose version'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'rcompose;up'= {
            cand --pull 'When to pull images'
            cand --scale 'Run NUM containers of SERVICE, whatever `scale` or `deploy.replicas` say'
            cand --wait-timeout 'Seconds to wait with --wait'
            cand -t 'Shutdown timeout in seconds'
            cand --timeout 'Shutdown timeout in seconds'
            cand --attach 'Show only these services'' output (repeatable)'
            cand --no-attach 'Do not show these services'' output (repeatable)'
            cand --exit-code-from 'Return this service''s exit code (implies --abort-on-container-exit)'
            cand -d 'Run in the background'
            cand --detach 'Run in the background'
            cand -w 'Watch source code and rebuild/refresh containers when files are updated'
            cand --watch 'Watch source code and rebuild/refresh containers when files are updated'
            cand --build 'Build images before starting'
            cand --no-build 'Do not build images, even when missing'
            cand --force-recreate 'Recreate containers even if unchanged'
            cand --no-recreate 'Never recreate existing containers'
            cand --no-deps 'Do not start the named services'' dependencies'
            cand --remove-orphans 'Remove containers of services no longer in the file'
            cand --wait 'Wait until services are running or healthy (implies -d)'
            cand --abort-on-container-exit 'Stop everything when any container stops'
            cand --attach-dependencies 'Show the output of the named services'' dependencies too'
            cand --no-color 'Monochrome output'
            cand --no-log-prefix 'Do not prefix log lines with the service name'
            cand --timestamps 'Show timestamps'
            cand --no-start 'Create containers without starting them'
            cand --quiet-pull 'Pull without printing progress'
            cand --no-builtin-proxy 'Run a real nginx container instead of serving its configuration in-process'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;down'= {
            cand --rmi 'Remove images: `local` (built ones) or `all`'
            cand -t 'Shutdown timeout in seconds'
            cand --timeout 'Shutdown timeout in seconds'
            cand -v 'Also remove named volumes and anonymous volumes'
            cand --volumes 'Also remove named volumes and anonymous volumes'
            cand --remove-orphans 'Remove containers of services no longer in the file'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;logs'= {
            cand -n 'Number of lines from the end of each log (or `all`)'
            cand --tail 'Number of lines from the end of each log (or `all`)'
            cand --since 'Show logs since a timestamp or relative time (42m)'
            cand --until 'Show logs before a timestamp or relative time'
            cand -f 'Follow log output'
            cand --follow 'Follow log output'
            cand -t 'Show timestamps'
            cand --timestamps 'Show timestamps'
            cand --no-color 'Monochrome output'
            cand --no-log-prefix 'Do not prefix lines with the service name'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;ps'= {
            cand --status 'Filter by state (running, exited, ...)'
            cand --filter 'Filter services by a property (supported filters: status)'
            cand --format 'Output format: table, json, or a Go template such as ''{{.Name}}\t{{.Status}}'' (''table ...'' adds a header row)'
            cand -a 'Show stopped containers too'
            cand --all 'Show stopped containers too'
            cand -q 'Only show IDs'
            cand --quiet 'Only show IDs'
            cand --services 'Show service names'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;build'= {
            cand --build-arg 'Build-time variables (KEY=VALUE)'
            cand --no-cache 'Do not use the cache'
            cand --pull 'Always try to pull newer base images'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;pull'= {
            cand --ignore-pull-failures 'Go on when an image cannot be pulled'
            cand -q 'Pull without printing progress'
            cand --quiet 'Pull without printing progress'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;start'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;stop'= {
            cand -t 'Shutdown timeout in seconds'
            cand --timeout 'Shutdown timeout in seconds'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;restart'= {
            cand -t 'Shutdown timeout in seconds'
            cand --timeout 'Shutdown timeout in seconds'
            cand --no-deps 'Don''t restart services that depend on these with `restart: true`'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;config'= {
            cand --format 'Output format'
            cand --hash 'Print the config-hash of these services (comma-separated, or "*" for all), one "SERVICE HASH" per line: the label that decides recreation'
            cand -o 'Write the output to this file instead of standard output'
            cand --output 'Write the output to this file instead of standard output'
            cand --services 'Print the service names, one per line'
            cand --volumes 'Print the volume names, one per line'
            cand --networks 'Print the network names, one per line'
            cand --profiles 'Print the profile names, one per line'
            cand --images 'Print the image of each service, one per line'
            cand -q 'Only validate; print nothing'
            cand --quiet 'Only validate; print nothing'
            cand --no-interpolate 'Leave ${VAR} as written'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;convert'= {
            cand --to 'What to convert to: the normalized compose file, or Kubernetes manifests'
            cand --format 'Output format'
            cand --hash 'Print the config-hash of these services (comma-separated, or "*" for all), one "SERVICE HASH" per line: the label that decides recreation'
            cand -o 'Write the output to this file instead of standard output'
            cand --output 'Write the output to this file instead of standard output'
            cand --services 'Print the service names, one per line'
            cand --volumes 'Print the volume names, one per line'
            cand --networks 'Print the network names, one per line'
            cand --profiles 'Print the profile names, one per line'
            cand --images 'Print the image of each service, one per line'
            cand -q 'Only validate; print nothing'
            cand --quiet 'Only validate; print nothing'
            cand --no-interpolate 'Leave ${VAR} as written'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;stack'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand deploy 'Deploy the project as a stack, or update it; depends_on is waited for'
            cand ls 'List stacks'
            cand ps 'List the tasks of the stack'
            cand services 'List the services of the stack'
            cand rm 'Remove the stack'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'rcompose;stack;deploy'= {
            cand --registry 'Push images built here to this registry (`HOST[:PORT]`) and run them from it'
            cand --no-builtin-proxy 'Run the nginx container instead of rcompose''s proxy image'
            cand --prune 'Remove services of the stack no longer in the files'
            cand --dry-run 'Print the plan and change nothing'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;stack;ls'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;stack;ps'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;stack;services'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;stack;rm'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;stack;help'= {
            cand deploy 'Deploy the project as a stack, or update it; depends_on is waited for'
            cand ls 'List stacks'
            cand ps 'List the tasks of the stack'
            cand services 'List the services of the stack'
            cand rm 'Remove the stack'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'rcompose;stack;help;deploy'= {
        }
        &'rcompose;stack;help;ls'= {
        }
        &'rcompose;stack;help;ps'= {
        }
        &'rcompose;stack;help;services'= {
        }
        &'rcompose;stack;help;rm'= {
        }
        &'rcompose;stack;help;help'= {
        }
        &'rcompose;proxy'= {
            cand -c 'The nginx configuration file'
            cand -p 'Prefix that relative paths in the configuration resolve against'
            cand -t 'Check the configuration and exit'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;exec'= {
            cand -e 'Set environment variables (KEY=VALUE, or KEY to pass this shell''s value)'
            cand --env 'Set environment variables (KEY=VALUE, or KEY to pass this shell''s value)'
            cand --index 'Index of the container if the service has several replicas'
            cand -u 'Run the command as this user'
            cand --user 'Run the command as this user'
            cand -w 'Path to the working directory for the command'
            cand --workdir 'Path to the working directory for the command'
            cand -d 'Detached mode: run the command in the background'
            cand --detach 'Detached mode: run the command in the background'
            cand -T 'Disable pseudo-TTY allocation'
            cand --no-TTY 'Disable pseudo-TTY allocation'
            cand --privileged 'Give extended privileges to the process'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;run'= {
            cand --entrypoint 'Override the image''s entrypoint'
            cand -e 'Set environment variables (KEY=VALUE, or KEY to pass this shell''s value)'
            cand --env 'Set environment variables (KEY=VALUE, or KEY to pass this shell''s value)'
            cand -i 'Keep standard input open (on by default)'
            cand --interactive 'Keep standard input open (on by default)'
            cand -l 'Add or override a label'
            cand --label 'Add or override a label'
            cand --name 'Name the container'
            cand -p 'Publish a container''s port to the host'
            cand --publish 'Publish a container''s port to the host'
            cand --pull 'Pull the image before running'
            cand -u 'Run as this user'
            cand --user 'Run as this user'
            cand -v 'Bind-mount a volume'
            cand --volume 'Bind-mount a volume'
            cand -w 'Working directory inside the container'
            cand --workdir 'Working directory inside the container'
            cand --build 'Build the image before starting the container'
            cand -d 'Run the container in the background and print its id'
            cand --detach 'Run the container in the background and print its id'
            cand -T 'Disable pseudo-TTY allocation (default: a TTY when there is a terminal)'
            cand --no-TTY 'Disable pseudo-TTY allocation (default: a TTY when there is a terminal)'
            cand --no-deps 'Don''t start linked services'
            cand --quiet-pull 'Pull without printing progress'
            cand --rm 'Remove the container when it exits'
            cand -P 'Run with the service''s ports published'
            cand --service-ports 'Run with the service''s ports published'
            cand --use-aliases 'Use the service''s network aliases in the networks it joins'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;kill'= {
            cand -s 'The signal to send'
            cand --signal 'The signal to send'
            cand --remove-orphans 'Remove containers for services not defined in the Compose file'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;rm'= {
            cand -f 'Don''t ask to confirm removal'
            cand --force 'Don''t ask to confirm removal'
            cand -s 'Stop the containers, if required, before removing'
            cand --stop 'Stop the containers, if required, before removing'
            cand -v 'Remove any anonymous volumes attached to containers'
            cand --volumes 'Remove any anonymous volumes attached to containers'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;pause'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;unpause'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;port'= {
            cand --index 'Index of the container if the service has several replicas'
            cand --protocol 'tcp or udp'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;top'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;create'= {
            cand --pull 'Pull images before creating'
            cand --scale 'Scale SERVICE to NUM instances'
            cand --build 'Build images before creating containers'
            cand --no-build 'Don''t build an image, even if it''s missing'
            cand --force-recreate 'Recreate containers even if their configuration and image haven''t changed'
            cand --no-recreate 'If containers already exist, don''t recreate them'
            cand --quiet-pull 'Pull without printing progress'
            cand --remove-orphans 'Remove containers for services not defined in the Compose file'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;scale'= {
            cand --no-deps 'Don''t start linked services'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;wait'= {
            cand --down-project 'Drop the project once the first container stops'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;ls'= {
            cand --filter 'Filter output based on conditions provided (name=TEXT)'
            cand --format 'Format the output: table or json'
            cand -a 'Show all stopped Compose projects'
            cand --all 'Show all stopped Compose projects'
            cand -q 'Only display project names'
            cand --quiet 'Only display project names'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;images'= {
            cand --format 'Format the output: table or json'
            cand -q 'Only display image ids'
            cand --quiet 'Only display image ids'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;attach'= {
            cand --index 'Index of the container if the service has several replicas'
            cand --no-stdin 'Do not attach standard input'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;events'= {
            cand --since 'Show all events created since timestamp'
            cand --until 'Stream events until this timestamp'
            cand --json 'Output events as a stream of json objects'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;watch'= {
            cand --prune 'Remove the image a rebuild leaves dangling (`--prune=false` keeps it)'
            cand --no-up 'Do not build and start the services before watching'
            cand --quiet 'Hide the build output of rebuilds'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;cp'= {
            cand --index 'Index of the container if the service has several replicas'
            cand --all 'Include containers created by the run command'
            cand -a 'Archive mode (copy all uid/gid information)'
            cand --archive 'Archive mode (copy all uid/gid information)'
            cand -L 'Always follow symbol link in SRC_PATH'
            cand --follow-link 'Always follow symbol link in SRC_PATH'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;stats'= {
            cand --format '`table` (the default), `json`, or a Go template of docker''s fields'
            cand -a 'Show all containers (default shows just running)'
            cand --all 'Show all containers (default shows just running)'
            cand --no-stream 'Disable streaming stats and only pull the first result'
            cand --no-trunc 'Do not truncate output'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;push'= {
            cand --ignore-push-failures 'Push what it can and ignore failures'
            cand --include-deps 'Also push images of the services the named ones depend on'
            cand -q 'Push without printing progress'
            cand --quiet 'Push without printing progress'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;completions'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;proxy-daemon'= {
            cand --child 'Serve directly (the supervisor of a restarting service starts this)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;version'= {
            cand -f 'Format the output: pretty or json'
            cand --format 'Format the output: pretty or json'
            cand --short 'Print only the version number'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rcompose;help'= {
            cand up 'Create and start containers (and the built-in proxy)'
            cand down 'Stop and remove containers and networks'
            cand logs 'Show container output'
            cand ps 'List containers'
            cand build 'Build or rebuild service images'
            cand pull 'Pull service images'
            cand start 'Start existing containers'
            cand stop 'Stop running containers without removing them'
            cand restart 'Restart containers'
            cand config 'Validate and show the normalized project'
            cand convert 'Convert the project for a cluster (`--to kubernetes`), or print it as `config` does'
            cand stack 'Deploy the project to a Docker Swarm, and list or remove stacks'
            cand proxy 'Serve an nginx.conf with the built-in proxy, as `nginx -c FILE` would'
            cand exec 'Execute a command in a running container'
            cand run 'Run a one-off command on a service'
            cand kill 'Force stop service containers'
            cand rm 'Remove stopped service containers'
            cand pause 'Pause services'
            cand unpause 'Unpause services'
            cand port 'Print the public address and port for a port binding'
            cand top 'Display the running processes'
            cand create 'Create containers without starting them'
            cand scale 'Scale services'
            cand wait 'Block until the containers of services stop; the first one''s exit status'
            cand ls 'List running compose projects (made by rcompose or docker compose)'
            cand images 'List images used by the created containers'
            cand attach 'Attach local standard input, output, and error streams to a service''s running container'
            cand events 'Receive real time events from containers'
            cand watch 'Watch the build context for services and rebuild/refresh containers when files are updated'
            cand cp 'Copy files/folders between a service container and the local filesystem'
            cand stats 'Display a live stream of container(s) resource usage statistics'
            cand push 'Push service images'
            cand completions 'Print a shell completion script'
            cand proxy-daemon 'Serve one service''s nginx configuration, detached (started by `up -d`)'
            cand version 'Show the rcompose version'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'rcompose;help;up'= {
        }
        &'rcompose;help;down'= {
        }
        &'rcompose;help;logs'= {
        }
        &'rcompose;help;ps'= {
        }
        &'rcompose;help;build'= {
        }
        &'rcompose;help;pull'= {
        }
        &'rcompose;help;start'= {
        }
        &'rcompose;help;stop'= {
        }
        &'rcompose;help;restart'= {
        }
        &'rcompose;help;config'= {
        }
        &'rcompose;help;convert'= {
        }
        &'rcompose;help;stack'= {
            cand deploy 'Deploy the project as a stack, or update it; depends_on is waited for'
            cand ls 'List stacks'
            cand ps 'List the tasks of the stack'
            cand services 'List the services of the stack'
            cand rm 'Remove the stack'
        }
        &'rcompose;help;stack;deploy'= {
        }
        &'rcompose;help;stack;ls'= {
        }
        &'rcompose;help;stack;ps'= {
        }
        &'rcompose;help;stack;services'= {
        }
        &'rcompose;help;stack;rm'= {
        }
        &'rcompose;help;proxy'= {
        }
        &'rcompose;help;exec'= {
        }
        &'rcompose;help;run'= {
        }
        &'rcompose;help;kill'= {
        }
        &'rcompose;help;rm'= {
        }
        &'rcompose;help;pause'= {
        }
        &'rcompose;help;unpause'= {
        }
        &'rcompose;help;port'= {
        }
        &'rcompose;help;top'= {
        }
        &'rcompose;help;create'= {
        }
        &'rcompose;help;scale'= {
        }
        &'rcompose;help;wait'= {
        }
        &'rcompose;help;ls'= {
        }
        &'rcompose;help;images'= {
        }
        &'rcompose;help;attach'= {
        }
        &'rcompose;help;events'= {
        }
        &'rcompose;help;watch'= {
        }
        &'rcompose;help;cp'= {
        }
        &'rcompose;help;stats'= {
        }
        &'rcompose;help;push'= {
        }
        &'rcompose;help;completions'= {
        }
        &'rcompose;help;proxy-daemon'= {
        }
        &'rcompose;help;version'= {
        }
        &'rcompose;help;help'= {
        }
    ]
    $completions[$command]
}
