
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'rcompose' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'rcompose'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'rcompose' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Compose file(s) to read, in order; `-` reads standard input [env: COMPOSE_FILE]')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Compose file(s) to read, in order; `-` reads standard input [env: COMPOSE_FILE]')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Project name [env: COMPOSE_PROJECT_NAME]')
            [CompletionResult]::new('--project-name', '--project-name', [CompletionResultType]::ParameterName, 'Project name [env: COMPOSE_PROJECT_NAME]')
            [CompletionResult]::new('--project-directory', '--project-directory', [CompletionResultType]::ParameterName, 'Directory relative paths are resolved against (default: the first file''s)')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Env file(s) for interpolation instead of the project''s `.env`')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Enable services of a profile [env: COMPOSE_PROFILES]')
            [CompletionResult]::new('--ansi', '--ansi', [CompletionResultType]::ParameterName, 'When to color output (NO_COLOR also turns color off)')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show progress')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print what rcompose sees and decides: engine events, each dependency check [env: RCOMPOSE_DEBUG]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('up', 'up', [CompletionResultType]::ParameterValue, 'Create and start containers (and the built-in proxy)')
            [CompletionResult]::new('down', 'down', [CompletionResultType]::ParameterValue, 'Stop and remove containers and networks')
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Show container output')
            [CompletionResult]::new('ps', 'ps', [CompletionResultType]::ParameterValue, 'List containers')
            [CompletionResult]::new('build', 'build', [CompletionResultType]::ParameterValue, 'Build or rebuild service images')
            [CompletionResult]::new('pull', 'pull', [CompletionResultType]::ParameterValue, 'Pull service images')
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Start existing containers')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop running containers without removing them')
            [CompletionResult]::new('restart', 'restart', [CompletionResultType]::ParameterValue, 'Restart containers')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Validate and show the normalized project')
            [CompletionResult]::new('convert', 'convert', [CompletionResultType]::ParameterValue, 'Convert the project for a cluster (`--to kubernetes`), or print it as `config` does')
            [CompletionResult]::new('stack', 'stack', [CompletionResultType]::ParameterValue, 'Deploy the project to a Docker Swarm, and list or remove stacks')
            [CompletionResult]::new('proxy', 'proxy', [CompletionResultType]::ParameterValue, 'Serve an nginx.conf with the built-in proxy, as `nginx -c FILE` would')
            [CompletionResult]::new('exec', 'exec', [CompletionResultType]::ParameterValue, 'Execute a command in a running container')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run a one-off command on a service')
            [CompletionResult]::new('kill', 'kill', [CompletionResultType]::ParameterValue, 'Force stop service containers')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove stopped service containers')
            [CompletionResult]::new('pause', 'pause', [CompletionResultType]::ParameterValue, 'Pause services')
            [CompletionResult]::new('unpause', 'unpause', [CompletionResultType]::ParameterValue, 'Unpause services')
            [CompletionResult]::new('port', 'port', [CompletionResultType]::ParameterValue, 'Print the public address and port for a port binding')
            [CompletionResult]::new('top', 'top', [CompletionResultType]::ParameterValue, 'Display the running processes')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create containers without starting them')
            [CompletionResult]::new('scale', 'scale', [CompletionResultType]::ParameterValue, 'Scale services')
            [CompletionResult]::new('wait', 'wait', [CompletionResultType]::ParameterValue, 'Block until the containers of services stop; the first one''s exit status')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List running compose projects (made by rcompose or docker compose)')
            [CompletionResult]::new('images', 'images', [CompletionResultType]::ParameterValue, 'List images used by the created containers')
            [CompletionResult]::new('attach', 'attach', [CompletionResultType]::ParameterValue, 'Attach local standard input, output, and error streams to a service''s running container')
            [CompletionResult]::new('events', 'events', [CompletionResultType]::ParameterValue, 'Receive real time events from containers')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Watch the build context for services and rebuild/refresh containers when files are updated')
            [CompletionResult]::new('cp', 'cp', [CompletionResultType]::ParameterValue, 'Copy files/folders between a service container and the local filesystem')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Display a live stream of container(s) resource usage statistics')
            [CompletionResult]::new('push', 'push', [CompletionResultType]::ParameterValue, 'Push service images')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('proxy-daemon', 'proxy-daemon', [CompletionResultType]::ParameterValue, 'Serve one service''s nginx configuration, detached (started by `up -d`)')
            [CompletionResult]::new('version', 'version', [CompletionResultType]::ParameterValue, 'Show the rcompose version')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'rcompose;up' {
            [CompletionResult]::new('--pull', '--pull', [CompletionResultType]::ParameterName, 'When to pull images')
            [CompletionResult]::new('--scale', '--scale', [CompletionResultType]::ParameterName, 'Run NUM containers of SERVICE, whatever `scale` or `deploy.replicas` say')
            [CompletionResult]::new('--wait-timeout', '--wait-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait with --wait')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Shutdown timeout in seconds')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Shutdown timeout in seconds')
            [CompletionResult]::new('--attach', '--attach', [CompletionResultType]::ParameterName, 'Show only these services'' output (repeatable)')
            [CompletionResult]::new('--no-attach', '--no-attach', [CompletionResultType]::ParameterName, 'Do not show these services'' output (repeatable)')
            [CompletionResult]::new('--exit-code-from', '--exit-code-from', [CompletionResultType]::ParameterName, 'Return this service''s exit code (implies --abort-on-container-exit)')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Run in the background')
            [CompletionResult]::new('--detach', '--detach', [CompletionResultType]::ParameterName, 'Run in the background')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Watch source code and rebuild/refresh containers when files are updated')
            [CompletionResult]::new('--watch', '--watch', [CompletionResultType]::ParameterName, 'Watch source code and rebuild/refresh containers when files are updated')
            [CompletionResult]::new('--build', '--build', [CompletionResultType]::ParameterName, 'Build images before starting')
            [CompletionResult]::new('--no-build', '--no-build', [CompletionResultType]::ParameterName, 'Do not build images, even when missing')
            [CompletionResult]::new('--force-recreate', '--force-recreate', [CompletionResultType]::ParameterName, 'Recreate containers even if unchanged')
            [CompletionResult]::new('--no-recreate', '--no-recreate', [CompletionResultType]::ParameterName, 'Never recreate existing containers')
            [CompletionResult]::new('--no-deps', '--no-deps', [CompletionResultType]::ParameterName, 'Do not start the named services'' dependencies')
            [CompletionResult]::new('--remove-orphans', '--remove-orphans', [CompletionResultType]::ParameterName, 'Remove containers of services no longer in the file')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Wait until services are running or healthy (implies -d)')
            [CompletionResult]::new('--abort-on-container-exit', '--abort-on-container-exit', [CompletionResultType]::ParameterName, 'Stop everything when any container stops')
            [CompletionResult]::new('--attach-dependencies', '--attach-dependencies', [CompletionResultType]::ParameterName, 'Show the output of the named services'' dependencies too')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Monochrome output')
            [CompletionResult]::new('--no-log-prefix', '--no-log-prefix', [CompletionResultType]::ParameterName, 'Do not prefix log lines with the service name')
            [CompletionResult]::new('--timestamps', '--timestamps', [CompletionResultType]::ParameterName, 'Show timestamps')
            [CompletionResult]::new('--no-start', '--no-start', [CompletionResultType]::ParameterName, 'Create containers without starting them')
            [CompletionResult]::new('--quiet-pull', '--quiet-pull', [CompletionResultType]::ParameterName, 'Pull without printing progress')
            [CompletionResult]::new('--no-builtin-proxy', '--no-builtin-proxy', [CompletionResultType]::ParameterName, 'Run a real nginx container instead of serving its configuration in-process')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;down' {
            [CompletionResult]::new('--rmi', '--rmi', [CompletionResultType]::ParameterName, 'Remove images: `local` (built ones) or `all`')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Shutdown timeout in seconds')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Shutdown timeout in seconds')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Also remove named volumes and anonymous volumes')
            [CompletionResult]::new('--volumes', '--volumes', [CompletionResultType]::ParameterName, 'Also remove named volumes and anonymous volumes')
            [CompletionResult]::new('--remove-orphans', '--remove-orphans', [CompletionResultType]::ParameterName, 'Remove containers of services no longer in the file')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;logs' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Number of lines from the end of each log (or `all`)')
            [CompletionResult]::new('--tail', '--tail', [CompletionResultType]::ParameterName, 'Number of lines from the end of each log (or `all`)')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Show logs since a timestamp or relative time (42m)')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Show logs before a timestamp or relative time')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Follow log output')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Follow log output')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Show timestamps')
            [CompletionResult]::new('--timestamps', '--timestamps', [CompletionResultType]::ParameterName, 'Show timestamps')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Monochrome output')
            [CompletionResult]::new('--no-log-prefix', '--no-log-prefix', [CompletionResultType]::ParameterName, 'Do not prefix lines with the service name')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;ps' {
            [CompletionResult]::new('--status', '--status', [CompletionResultType]::ParameterName, 'Filter by state (running, exited, ...)')
            [CompletionResult]::new('--filter', '--filter', [CompletionResultType]::ParameterName, 'Filter services by a property (supported filters: status)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: table, json, or a Go template such as ''{{.Name}}\t{{.Status}}'' (''table ...'' adds a header row)')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Show stopped containers too')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Show stopped containers too')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only show IDs')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only show IDs')
            [CompletionResult]::new('--services', '--services', [CompletionResultType]::ParameterName, 'Show service names')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;build' {
            [CompletionResult]::new('--build-arg', '--build-arg', [CompletionResultType]::ParameterName, 'Build-time variables (KEY=VALUE)')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Do not use the cache')
            [CompletionResult]::new('--pull', '--pull', [CompletionResultType]::ParameterName, 'Always try to pull newer base images')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;pull' {
            [CompletionResult]::new('--ignore-pull-failures', '--ignore-pull-failures', [CompletionResultType]::ParameterName, 'Go on when an image cannot be pulled')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Pull without printing progress')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Pull without printing progress')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;start' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;stop' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Shutdown timeout in seconds')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Shutdown timeout in seconds')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;restart' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Shutdown timeout in seconds')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Shutdown timeout in seconds')
            [CompletionResult]::new('--no-deps', '--no-deps', [CompletionResultType]::ParameterName, 'Don''t restart services that depend on these with `restart: true`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;config' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--hash', '--hash', [CompletionResultType]::ParameterName, 'Print the config-hash of these services (comma-separated, or "*" for all), one "SERVICE HASH" per line: the label that decides recreation')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the output to this file instead of standard output')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the output to this file instead of standard output')
            [CompletionResult]::new('--services', '--services', [CompletionResultType]::ParameterName, 'Print the service names, one per line')
            [CompletionResult]::new('--volumes', '--volumes', [CompletionResultType]::ParameterName, 'Print the volume names, one per line')
            [CompletionResult]::new('--networks', '--networks', [CompletionResultType]::ParameterName, 'Print the network names, one per line')
            [CompletionResult]::new('--profiles', '--profiles', [CompletionResultType]::ParameterName, 'Print the profile names, one per line')
            [CompletionResult]::new('--images', '--images', [CompletionResultType]::ParameterName, 'Print the image of each service, one per line')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only validate; print nothing')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only validate; print nothing')
            [CompletionResult]::new('--no-interpolate', '--no-interpolate', [CompletionResultType]::ParameterName, 'Leave ${VAR} as written')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;convert' {
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'What to convert to: the normalized compose file, or Kubernetes manifests')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--hash', '--hash', [CompletionResultType]::ParameterName, 'Print the config-hash of these services (comma-separated, or "*" for all), one "SERVICE HASH" per line: the label that decides recreation')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the output to this file instead of standard output')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the output to this file instead of standard output')
            [CompletionResult]::new('--services', '--services', [CompletionResultType]::ParameterName, 'Print the service names, one per line')
            [CompletionResult]::new('--volumes', '--volumes', [CompletionResultType]::ParameterName, 'Print the volume names, one per line')
            [CompletionResult]::new('--networks', '--networks', [CompletionResultType]::ParameterName, 'Print the network names, one per line')
            [CompletionResult]::new('--profiles', '--profiles', [CompletionResultType]::ParameterName, 'Print the profile names, one per line')
            [CompletionResult]::new('--images', '--images', [CompletionResultType]::ParameterName, 'Print the image of each service, one per line')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only validate; print nothing')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only validate; print nothing')
            [CompletionResult]::new('--no-interpolate', '--no-interpolate', [CompletionResultType]::ParameterName, 'Leave ${VAR} as written')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;stack' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('deploy', 'deploy', [CompletionResultType]::ParameterValue, 'Deploy the project as a stack, or update it; depends_on is waited for')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List stacks')
            [CompletionResult]::new('ps', 'ps', [CompletionResultType]::ParameterValue, 'List the tasks of the stack')
            [CompletionResult]::new('services', 'services', [CompletionResultType]::ParameterValue, 'List the services of the stack')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove the stack')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'rcompose;stack;deploy' {
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Push images built here to this registry (`HOST[:PORT]`) and run them from it')
            [CompletionResult]::new('--no-builtin-proxy', '--no-builtin-proxy', [CompletionResultType]::ParameterName, 'Run the nginx container instead of rcompose''s proxy image')
            [CompletionResult]::new('--prune', '--prune', [CompletionResultType]::ParameterName, 'Remove services of the stack no longer in the files')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and change nothing')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;stack;ls' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;stack;ps' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;stack;services' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;stack;rm' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;stack;help' {
            [CompletionResult]::new('deploy', 'deploy', [CompletionResultType]::ParameterValue, 'Deploy the project as a stack, or update it; depends_on is waited for')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List stacks')
            [CompletionResult]::new('ps', 'ps', [CompletionResultType]::ParameterValue, 'List the tasks of the stack')
            [CompletionResult]::new('services', 'services', [CompletionResultType]::ParameterValue, 'List the services of the stack')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove the stack')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'rcompose;stack;help;deploy' {
            break
        }
        'rcompose;stack;help;ls' {
            break
        }
        'rcompose;stack;help;ps' {
            break
        }
        'rcompose;stack;help;services' {
            break
        }
        'rcompose;stack;help;rm' {
            break
        }
        'rcompose;stack;help;help' {
            break
        }
        'rcompose;proxy' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The nginx configuration file')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Prefix that relative paths in the configuration resolve against')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Check the configuration and exit')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;exec' {
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Set environment variables (KEY=VALUE, or KEY to pass this shell''s value)')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'Set environment variables (KEY=VALUE, or KEY to pass this shell''s value)')
            [CompletionResult]::new('--index', '--index', [CompletionResultType]::ParameterName, 'Index of the container if the service has several replicas')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Run the command as this user')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Run the command as this user')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Path to the working directory for the command')
            [CompletionResult]::new('--workdir', '--workdir', [CompletionResultType]::ParameterName, 'Path to the working directory for the command')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Detached mode: run the command in the background')
            [CompletionResult]::new('--detach', '--detach', [CompletionResultType]::ParameterName, 'Detached mode: run the command in the background')
            [CompletionResult]::new('-T', '-T ', [CompletionResultType]::ParameterName, 'Disable pseudo-TTY allocation')
            [CompletionResult]::new('--no-TTY', '--no-TTY', [CompletionResultType]::ParameterName, 'Disable pseudo-TTY allocation')
            [CompletionResult]::new('--privileged', '--privileged', [CompletionResultType]::ParameterName, 'Give extended privileges to the process')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;run' {
            [CompletionResult]::new('--entrypoint', '--entrypoint', [CompletionResultType]::ParameterName, 'Override the image''s entrypoint')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Set environment variables (KEY=VALUE, or KEY to pass this shell''s value)')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'Set environment variables (KEY=VALUE, or KEY to pass this shell''s value)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Keep standard input open (on by default)')
            [CompletionResult]::new('--interactive', '--interactive', [CompletionResultType]::ParameterName, 'Keep standard input open (on by default)')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Add or override a label')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Add or override a label')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Name the container')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Publish a container''s port to the host')
            [CompletionResult]::new('--publish', '--publish', [CompletionResultType]::ParameterName, 'Publish a container''s port to the host')
            [CompletionResult]::new('--pull', '--pull', [CompletionResultType]::ParameterName, 'Pull the image before running')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Run as this user')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Run as this user')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Bind-mount a volume')
            [CompletionResult]::new('--volume', '--volume', [CompletionResultType]::ParameterName, 'Bind-mount a volume')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Working directory inside the container')
            [CompletionResult]::new('--workdir', '--workdir', [CompletionResultType]::ParameterName, 'Working directory inside the container')
            [CompletionResult]::new('--build', '--build', [CompletionResultType]::ParameterName, 'Build the image before starting the container')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Run the container in the background and print its id')
            [CompletionResult]::new('--detach', '--detach', [CompletionResultType]::ParameterName, 'Run the container in the background and print its id')
            [CompletionResult]::new('-T', '-T ', [CompletionResultType]::ParameterName, 'Disable pseudo-TTY allocation (default: a TTY when there is a terminal)')
            [CompletionResult]::new('--no-TTY', '--no-TTY', [CompletionResultType]::ParameterName, 'Disable pseudo-TTY allocation (default: a TTY when there is a terminal)')
            [CompletionResult]::new('--no-deps', '--no-deps', [CompletionResultType]::ParameterName, 'Don''t start linked services')
            [CompletionResult]::new('--quiet-pull', '--quiet-pull', [CompletionResultType]::ParameterName, 'Pull without printing progress')
            [CompletionResult]::new('--rm', '--rm', [CompletionResultType]::ParameterName, 'Remove the container when it exits')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Run with the service''s ports published')
            [CompletionResult]::new('--service-ports', '--service-ports', [CompletionResultType]::ParameterName, 'Run with the service''s ports published')
            [CompletionResult]::new('--use-aliases', '--use-aliases', [CompletionResultType]::ParameterName, 'Use the service''s network aliases in the networks it joins')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;kill' {
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'The signal to send')
            [CompletionResult]::new('--signal', '--signal', [CompletionResultType]::ParameterName, 'The signal to send')
            [CompletionResult]::new('--remove-orphans', '--remove-orphans', [CompletionResultType]::ParameterName, 'Remove containers for services not defined in the Compose file')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;rm' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Don''t ask to confirm removal')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Don''t ask to confirm removal')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Stop the containers, if required, before removing')
            [CompletionResult]::new('--stop', '--stop', [CompletionResultType]::ParameterName, 'Stop the containers, if required, before removing')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Remove any anonymous volumes attached to containers')
            [CompletionResult]::new('--volumes', '--volumes', [CompletionResultType]::ParameterName, 'Remove any anonymous volumes attached to containers')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;pause' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;unpause' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;port' {
            [CompletionResult]::new('--index', '--index', [CompletionResultType]::ParameterName, 'Index of the container if the service has several replicas')
            [CompletionResult]::new('--protocol', '--protocol', [CompletionResultType]::ParameterName, 'tcp or udp')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;top' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;create' {
            [CompletionResult]::new('--pull', '--pull', [CompletionResultType]::ParameterName, 'Pull images before creating')
            [CompletionResult]::new('--scale', '--scale', [CompletionResultType]::ParameterName, 'Scale SERVICE to NUM instances')
            [CompletionResult]::new('--build', '--build', [CompletionResultType]::ParameterName, 'Build images before creating containers')
            [CompletionResult]::new('--no-build', '--no-build', [CompletionResultType]::ParameterName, 'Don''t build an image, even if it''s missing')
            [CompletionResult]::new('--force-recreate', '--force-recreate', [CompletionResultType]::ParameterName, 'Recreate containers even if their configuration and image haven''t changed')
            [CompletionResult]::new('--no-recreate', '--no-recreate', [CompletionResultType]::ParameterName, 'If containers already exist, don''t recreate them')
            [CompletionResult]::new('--quiet-pull', '--quiet-pull', [CompletionResultType]::ParameterName, 'Pull without printing progress')
            [CompletionResult]::new('--remove-orphans', '--remove-orphans', [CompletionResultType]::ParameterName, 'Remove containers for services not defined in the Compose file')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;scale' {
            [CompletionResult]::new('--no-deps', '--no-deps', [CompletionResultType]::ParameterName, 'Don''t start linked services')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;wait' {
            [CompletionResult]::new('--down-project', '--down-project', [CompletionResultType]::ParameterName, 'Drop the project once the first container stops')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;ls' {
            [CompletionResult]::new('--filter', '--filter', [CompletionResultType]::ParameterName, 'Filter output based on conditions provided (name=TEXT)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Format the output: table or json')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Show all stopped Compose projects')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Show all stopped Compose projects')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only display project names')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only display project names')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;images' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Format the output: table or json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only display image ids')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only display image ids')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;attach' {
            [CompletionResult]::new('--index', '--index', [CompletionResultType]::ParameterName, 'Index of the container if the service has several replicas')
            [CompletionResult]::new('--no-stdin', '--no-stdin', [CompletionResultType]::ParameterName, 'Do not attach standard input')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;events' {
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Show all events created since timestamp')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Stream events until this timestamp')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Output events as a stream of json objects')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;watch' {
            [CompletionResult]::new('--prune', '--prune', [CompletionResultType]::ParameterName, 'Remove the image a rebuild leaves dangling (`--prune=false` keeps it)')
            [CompletionResult]::new('--no-up', '--no-up', [CompletionResultType]::ParameterName, 'Do not build and start the services before watching')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Hide the build output of rebuilds')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;cp' {
            [CompletionResult]::new('--index', '--index', [CompletionResultType]::ParameterName, 'Index of the container if the service has several replicas')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Include containers created by the run command')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Archive mode (copy all uid/gid information)')
            [CompletionResult]::new('--archive', '--archive', [CompletionResultType]::ParameterName, 'Archive mode (copy all uid/gid information)')
            [CompletionResult]::new('-L', '-L ', [CompletionResultType]::ParameterName, 'Always follow symbol link in SRC_PATH')
            [CompletionResult]::new('--follow-link', '--follow-link', [CompletionResultType]::ParameterName, 'Always follow symbol link in SRC_PATH')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;stats' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, '`table` (the default), `json`, or a Go template of docker''s fields')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Show all containers (default shows just running)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Show all containers (default shows just running)')
            [CompletionResult]::new('--no-stream', '--no-stream', [CompletionResultType]::ParameterName, 'Disable streaming stats and only pull the first result')
            [CompletionResult]::new('--no-trunc', '--no-trunc', [CompletionResultType]::ParameterName, 'Do not truncate output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;push' {
            [CompletionResult]::new('--ignore-push-failures', '--ignore-push-failures', [CompletionResultType]::ParameterName, 'Push what it can and ignore failures')
            [CompletionResult]::new('--include-deps', '--include-deps', [CompletionResultType]::ParameterName, 'Also push images of the services the named ones depend on')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Push without printing progress')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Push without printing progress')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;completions' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;proxy-daemon' {
            [CompletionResult]::new('--child', '--child', [CompletionResultType]::ParameterName, 'Serve directly (the supervisor of a restarting service starts this)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;version' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Format the output: pretty or json')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Format the output: pretty or json')
            [CompletionResult]::new('--short', '--short', [CompletionResultType]::ParameterName, 'Print only the version number')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rcompose;help' {
            [CompletionResult]::new('up', 'up', [CompletionResultType]::ParameterValue, 'Create and start containers (and the built-in proxy)')
            [CompletionResult]::new('down', 'down', [CompletionResultType]::ParameterValue, 'Stop and remove containers and networks')
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Show container output')
            [CompletionResult]::new('ps', 'ps', [CompletionResultType]::ParameterValue, 'List containers')
            [CompletionResult]::new('build', 'build', [CompletionResultType]::ParameterValue, 'Build or rebuild service images')
            [CompletionResult]::new('pull', 'pull', [CompletionResultType]::ParameterValue, 'Pull service images')
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Start existing containers')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop running containers without removing them')
            [CompletionResult]::new('restart', 'restart', [CompletionResultType]::ParameterValue, 'Restart containers')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Validate and show the normalized project')
            [CompletionResult]::new('convert', 'convert', [CompletionResultType]::ParameterValue, 'Convert the project for a cluster (`--to kubernetes`), or print it as `config` does')
            [CompletionResult]::new('stack', 'stack', [CompletionResultType]::ParameterValue, 'Deploy the project to a Docker Swarm, and list or remove stacks')
            [CompletionResult]::new('proxy', 'proxy', [CompletionResultType]::ParameterValue, 'Serve an nginx.conf with the built-in proxy, as `nginx -c FILE` would')
            [CompletionResult]::new('exec', 'exec', [CompletionResultType]::ParameterValue, 'Execute a command in a running container')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run a one-off command on a service')
            [CompletionResult]::new('kill', 'kill', [CompletionResultType]::ParameterValue, 'Force stop service containers')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove stopped service containers')
            [CompletionResult]::new('pause', 'pause', [CompletionResultType]::ParameterValue, 'Pause services')
            [CompletionResult]::new('unpause', 'unpause', [CompletionResultType]::ParameterValue, 'Unpause services')
            [CompletionResult]::new('port', 'port', [CompletionResultType]::ParameterValue, 'Print the public address and port for a port binding')
            [CompletionResult]::new('top', 'top', [CompletionResultType]::ParameterValue, 'Display the running processes')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create containers without starting them')
            [CompletionResult]::new('scale', 'scale', [CompletionResultType]::ParameterValue, 'Scale services')
            [CompletionResult]::new('wait', 'wait', [CompletionResultType]::ParameterValue, 'Block until the containers of services stop; the first one''s exit status')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List running compose projects (made by rcompose or docker compose)')
            [CompletionResult]::new('images', 'images', [CompletionResultType]::ParameterValue, 'List images used by the created containers')
            [CompletionResult]::new('attach', 'attach', [CompletionResultType]::ParameterValue, 'Attach local standard input, output, and error streams to a service''s running container')
            [CompletionResult]::new('events', 'events', [CompletionResultType]::ParameterValue, 'Receive real time events from containers')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Watch the build context for services and rebuild/refresh containers when files are updated')
            [CompletionResult]::new('cp', 'cp', [CompletionResultType]::ParameterValue, 'Copy files/folders between a service container and the local filesystem')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Display a live stream of container(s) resource usage statistics')
            [CompletionResult]::new('push', 'push', [CompletionResultType]::ParameterValue, 'Push service images')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('proxy-daemon', 'proxy-daemon', [CompletionResultType]::ParameterValue, 'Serve one service''s nginx configuration, detached (started by `up -d`)')
            [CompletionResult]::new('version', 'version', [CompletionResultType]::ParameterValue, 'Show the rcompose version')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'rcompose;help;up' {
            break
        }
        'rcompose;help;down' {
            break
        }
        'rcompose;help;logs' {
            break
        }
        'rcompose;help;ps' {
            break
        }
        'rcompose;help;build' {
            break
        }
        'rcompose;help;pull' {
            break
        }
        'rcompose;help;start' {
            break
        }
        'rcompose;help;stop' {
            break
        }
        'rcompose;help;restart' {
            break
        }
        'rcompose;help;config' {
            break
        }
        'rcompose;help;convert' {
            break
        }
        'rcompose;help;stack' {
            [CompletionResult]::new('deploy', 'deploy', [CompletionResultType]::ParameterValue, 'Deploy the project as a stack, or update it; depends_on is waited for')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List stacks')
            [CompletionResult]::new('ps', 'ps', [CompletionResultType]::ParameterValue, 'List the tasks of the stack')
            [CompletionResult]::new('services', 'services', [CompletionResultType]::ParameterValue, 'List the services of the stack')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove the stack')
            break
        }
        'rcompose;help;stack;deploy' {
            break
        }
        'rcompose;help;stack;ls' {
            break
        }
        'rcompose;help;stack;ps' {
            break
        }
        'rcompose;help;stack;services' {
            break
        }
        'rcompose;help;stack;rm' {
            break
        }
        'rcompose;help;proxy' {
            break
        }
        'rcompose;help;exec' {
            break
        }
        'rcompose;help;run' {
            break
        }
        'rcompose;help;kill' {
            break
        }
        'rcompose;help;rm' {
            break
        }
        'rcompose;help;pause' {
            break
        }
        'rcompose;help;unpause' {
            break
        }
        'rcompose;help;port' {
            break
        }
        'rcompose;help;top' {
            break
        }
        'rcompose;help;create' {
            break
        }
        'rcompose;help;scale' {
            break
        }
        'rcompose;help;wait' {
            break
        }
        'rcompose;help;ls' {
            break
        }
        'rcompose;help;images' {
            break
        }
        'rcompose;help;attach' {
            break
        }
        'rcompose;help;events' {
            break
        }
        'rcompose;help;watch' {
            break
        }
        'rcompose;help;cp' {
            break
        }
        'rcompose;help;stats' {
            break
        }
        'rcompose;help;push' {
            break
        }
        'rcompose;help;completions' {
            break
        }
        'rcompose;help;proxy-daemon' {
            break
        }
        'rcompose;help;version' {
            break
        }
        'rcompose;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
