#!/usr/bin/env python3
"""Differential sweep: `rcompose config -q` against `docker compose config -q`.

Each scope is a compose file with one hole; every key of the scope goes in
the hole with each of a set of value shapes (null, text, numbers, booleans,
lists, mappings), and both tools say whether they take the file. A case is
LAXER when rcompose takes what docker compose refuses, STRICT when rcompose
refuses what docker compose takes, and PANIC when rcompose dies of a panic.

    tests/support/config-sweep.py [SCOPE...]      (all scopes by default)

Prints one line per disagreement and a summary line last. Needs `docker
compose` v2 and a built rcompose (target/debug, or $RCOMPOSE).
"""

import concurrent.futures
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RCOMPOSE = os.environ.get("RCOMPOSE", os.path.join(ROOT, "target/debug/rcompose"))

# The value shapes, as YAML flow text.
SHAPES = ["null", '""', "abc", "42", "-1", "1.5", "true", "[]", "[a]", "[42]", "{}", "{a: 1}", "{a: b}", "10s", '"0"']

SVC = "services:\n  s:\n    image: busybox\n"
OTHER = "  o:\n    image: busybox\n"

# scope: (template with {k} and {v}, keys). The template's other names (o, n,
# v, x) are defined so that a reference to them is not what fails.
SCOPES = {
    "svc": (
        SVC + "    {k}: {v}\n" + OTHER,
        """annotations attach blkio_config build cap_add cap_drop cgroup cgroup_parent command configs
        container_name cpu_count cpu_percent cpu_period cpu_quota cpu_rt_period cpu_rt_runtime cpu_shares
        cpus cpuset credential_spec depends_on deploy develop device_cgroup_rules devices dns dns_opt
        dns_search domainname entrypoint env_file environment expose external_links extra_hosts gpus
        group_add healthcheck hostname init ipc isolation label_file labels links logging mac_address
        mem_limit mem_reservation mem_swappiness memswap_limit network_mode networks oom_kill_disable
        oom_score_adj pid pids_limit platform ports post_start pre_stop privileged profiles pull_policy
        read_only restart runtime scale secrets security_opt shm_size stdin_open stop_grace_period
        stop_signal storage_opt sysctls tmpfs tty ulimits use_api_socket user userns_mode uts volumes
        volumes_from working_dir""",
    ),
    "build": (
        SVC + "    build:\n      context: .\n      {k}: {v}\n",
        """dockerfile dockerfile_inline args target labels cache_from cache_to no_cache pull network
        shm_size tags platforms additional_contexts entitlements extra_hosts isolation privileged
        provenance sbom secrets ssh ulimits""",
    ),
    "buildctx": (SVC + "    build:\n      {k}: {v}\n", "context"),
    "hc": (
        SVC + "    healthcheck:\n      {k}: {v}\n",
        "test interval timeout retries start_period start_interval disable",
    ),
    "net": (
        SVC + "networks:\n  n:\n    {k}: {v}\n",
        "name driver driver_opts ipam external internal attachable enable_ipv6 enable_ipv4 labels",
    ),
    "vol": (SVC + "volumes:\n  v:\n    {k}: {v}\n", "name driver driver_opts external labels"),
    "deploy": (
        SVC + "    deploy:\n      {k}: {v}\n",
        "mode replicas labels update_config rollback_config resources restart_policy placement endpoint_mode",
    ),
    "limits": (SVC + "    deploy:\n      resources:\n        limits:\n          {k}: {v}\n", "cpus memory pids"),
    "reserv": (
        SVC + "    deploy:\n      resources:\n        reservations:\n          {k}: {v}\n",
        "cpus memory pids devices generic_resources",
    ),
    "restartp": (
        SVC + "    deploy:\n      restart_policy:\n        {k}: {v}\n",
        "condition delay max_attempts window",
    ),
    "update": (
        SVC + "    deploy:\n      update_config:\n        {k}: {v}\n",
        "parallelism delay failure_action monitor max_failure_ratio order",
    ),
    "logging": (SVC + "    logging:\n      {k}: {v}\n", "driver options"),
    "port": (
        SVC + "    ports:\n      - target: 80\n        {k}: {v}\n",
        "published host_ip protocol mode name app_protocol",
    ),
    "porttarget": (SVC + "    ports:\n      - {k}: {v}\n", "target"),
    "mount": (
        SVC + "    volumes:\n      - type: bind\n        source: .\n        target: /m\n        {k}: {v}\n",
        "read_only consistency bind",
    ),
    "mountbind": (
        SVC + "    volumes:\n      - type: bind\n        source: .\n        target: /m\n        bind:\n          {k}: {v}\n",
        "propagation create_host_path selinux",
    ),
    "mountvol": (
        SVC + "    volumes:\n      - type: volume\n        source: v\n        target: /m\n        volume:\n          {k}: {v}\n"
        + "volumes:\n  v:\n",
        "nocopy subpath labels",
    ),
    "mounttmpfs": (
        SVC + "    volumes:\n      - type: tmpfs\n        target: /m\n        tmpfs:\n          {k}: {v}\n",
        "size mode",
    ),
    "svcnet": (
        SVC + "    networks:\n      n:\n        {k}: {v}\nnetworks:\n  n:\n",
        "aliases ipv4_address ipv6_address link_local_ips mac_address priority gw_priority driver_opts interface_name",
    ),
    "dep": (SVC + "    depends_on:\n      o:\n        condition: service_started\n        {k}: {v}\n" + OTHER, "restart required"),
    "depcond": (SVC + "    depends_on:\n      o:\n        {k}: {v}\n" + OTHER, "condition"),
    "watch": (
        SVC + "    develop:\n      watch:\n        - path: .\n          action: sync\n          target: /app\n          {k}: {v}\n",
        "include ignore initial_sync",
    ),
    "blkio": (SVC + "    blkio_config:\n      {k}: {v}\n", "weight weight_device device_read_bps device_write_bps device_read_iops device_write_iops"),
    "ulimit": (SVC + "    ulimits:\n      {k}: {v}\n", "nofile nproc"),
    "ulimitsoft": (SVC + "    ulimits:\n      nofile:\n        hard: 20\n        {k}: {v}\n", "soft"),
    "secretref": (
        SVC + "    secrets:\n      - source: x\n        {k}: {v}\nsecrets:\n  x:\n    file: ./x\n",
        "target uid gid mode",
    ),
    "topsecret": (SVC + "secrets:\n  x:\n    {k}: {v}\n", "name file environment external labels driver driver_opts template_driver"),
    "topconfig": (SVC + "configs:\n  x:\n    {k}: {v}\n", "name file environment content external labels template_driver"),
    "ipamcfg": (SVC + "networks:\n  n:\n    ipam:\n      config:\n        - {k}: {v}\n", "subnet ip_range gateway aux_addresses"),
    "gpusitem": (SVC + "    gpus:\n      - {k}: {v}\n", "capabilities count device_ids driver options"),
    "hook": (SVC + "    post_start:\n      - command: [echo]\n        {k}: {v}\n", "user privileged working_dir environment"),
}


def verdict(cmd, text):
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "docker-compose.yml"), "w") as f:
            f.write(text)
        p = subprocess.run(cmd + ["config", "-q"], cwd=d, capture_output=True, text=True)
        return p.returncode, p.stderr.strip().splitlines()[-1:] if p.stderr.strip() else []


def case(scope, key, shape):
    template, _ = SCOPES[scope]
    text = template.replace("{k}", key).replace("{v}", shape)
    theirs, their_err = verdict(["docker", "compose"], text)
    ours, our_err = verdict([RCOMPOSE], text)
    if ours == 101:
        return "PANIC", scope, key, shape, our_err
    if (theirs == 0) == (ours == 0):
        return "SAME", scope, key, shape, []
    if ours == 0:
        return "LAXER", scope, key, shape, their_err
    return "STRICT", scope, key, shape, our_err


def main():
    scopes = sys.argv[1:] or list(SCOPES)
    for s in scopes:
        if s not in SCOPES:
            sys.exit(f"unknown scope {s!r}; scopes: {' '.join(SCOPES)}")
    jobs = [(s, k, v) for s in scopes for k in SCOPES[s][1].split() for v in SHAPES]
    counts = {"SAME": 0, "LAXER": 0, "STRICT": 0, "PANIC": 0}
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() * 2) as pool:
        for kind, scope, key, shape, err in pool.map(lambda j: case(*j), jobs):
            counts[kind] += 1
            if kind != "SAME":
                print(f"{kind:6} {scope}.{key}: {shape}  {' '.join(err)[:160]}", flush=True)
    print(f"{len(jobs)} cases: " + ", ".join(f"{n} {k.lower()}" for k, n in counts.items()))
    return 1 if counts["PANIC"] else 0


if __name__ == "__main__":
    sys.exit(main())
