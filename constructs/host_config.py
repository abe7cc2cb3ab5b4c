"""Host configuration rendered from the files under `assets/`.

Configuration lives in real files with `${name}` placeholders; `render` fills
them and refuses a missing or an unused value, so a template and its caller
cannot drift apart. Shell scripts are never templates: they take arguments,
which keeps them checkable by shellcheck as they are.

The `*_init` functions turn the rendered files into cfn-init configurations.
Their files and commands are immutable values, so equal ones are made once per
process and shared by every host (`_file`, `_script`, `_shell`): each made
anew would cost a round trip to the jsii kernel.
"""

from __future__ import annotations

import functools
import ipaddress
import shlex
import string
from collections.abc import Iterable, Mapping
from pathlib import Path

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets

ASSETS = Path(__file__).resolve().parent.parent / "assets"
SBIN = "/usr/local/sbin"
SYSTEMD = "/etc/systemd/system"
PROXY_ENV_FILE = "/etc/sysconfig/proxy"
# Reached directly, never through Squid: loopback, the instance metadata and
# ECS credential addresses (IPv4 and IPv6), and AWS APIs via VPC endpoints.
DIRECT_DESTINATIONS = (
    "localhost",
    "127.0.0.1",
    "::1",
    "169.254.169.254",
    "169.254.170.2",
    "fd00:ec2::254",
    ".amazonaws.com",
)
DISK_WAIT_SECONDS = 1800
RELEASE_HEALTH_WAIT_SECONDS = 120
EXECUTABLE = "000755"
READABLE = "000644"


def render(relative_path: str, **values: object) -> str:
    """Fill the template at `assets/<relative_path>` with exactly `values`."""
    template = string.Template((ASSETS / relative_path).read_text(encoding="utf-8"))
    wanted = set(template.get_identifiers())
    missing, unused = wanted - values.keys(), values.keys() - wanted
    if missing or unused:
        raise ValueError(
            f"rendering {relative_path}: missing {sorted(missing)}, "
            f"unused {sorted(unused)}"
        )
    return template.substitute({k: str(v) for k, v in values.items()})


def _command(*argv: object) -> str:
    return shlex.join(str(arg) for arg in argv)


@functools.cache
def _script(name: str, relative_path: str) -> ec2.InitFile:
    return ec2.InitFile.from_file_inline(
        f"{SBIN}/{name}", str(ASSETS / relative_path), mode=EXECUTABLE
    )


@functools.cache
def _file(path: str, content: str, mode: str | None = None) -> ec2.InitFile:
    return ec2.InitFile.from_string(path, content, mode=mode)


@functools.cache
def _shell(command: str) -> ec2.InitCommand:
    return ec2.InitCommand.shell_command(command)


def no_proxy(vpc_cidr: str, internal_domain: str) -> str:
    """NO_PROXY: the direct destinations, the VPC and the private DNS zone."""
    return ",".join((*DIRECT_DESTINATIONS, vpc_cidr, f".{internal_domain}"))


def proxy_init(proxy_url: str, vpc_cidr: str, internal_domain: str) -> ec2.InitConfig:
    """Login shells and systemd services send outbound HTTP(S) through Squid."""
    values = {"proxy_url": proxy_url, "no_proxy": no_proxy(vpc_cidr, internal_domain)}
    return ec2.InitConfig(
        [
            _file("/etc/profile.d/proxy.sh", render("common/proxy.sh", **values)),
            _file(PROXY_ENV_FILE, render("common/proxy.env", **values)),
        ]
    )


def proxy_env(proxy_url: str, vpc_cidr: str, internal_domain: str) -> dict[str, str]:
    """The proxy variables for a cfn-init command that downloads."""
    direct = no_proxy(vpc_cidr, internal_domain)
    return {"http_proxy": proxy_url, "https_proxy": proxy_url, "no_proxy": direct}


def disk_init(
    *,
    unit: str,
    label: str,
    mount_point: str,
    candidates: Iterable[str],
    ephemeral: bool,
    wait_for_attachment: bool = False,
) -> ec2.InitConfig:
    """A systemd unit that formats (once) and mounts a disk at every boot.

    With `wait_for_attachment` the unit is started without waiting for it: the
    volume is attached only after the host has signalled CloudFormation.
    """
    arguments = _command(
        *(["--ephemeral"] if ephemeral else []),
        label,
        mount_point,
        DISK_WAIT_SECONDS,
        *candidates,
    )
    unit_file = render(
        "common/disk.service",
        label=label,
        mount_point=mount_point,
        timeout_seconds=DISK_WAIT_SECONDS + 60,
        arguments=arguments,
    )
    start = (
        f"systemctl enable {unit} && systemctl start --no-block {unit}"
        if wait_for_attachment
        else f"systemctl enable --now {unit}"
    )
    return ec2.InitConfig(
        [
            _script("mount-disk", "common/mount-disk.sh"),
            _file(f"{SYSTEMD}/{unit}", unit_file, mode=READABLE),
            _shell("systemctl daemon-reload"),
            _shell(start),
        ]
    )


def web_init(
    release: s3_assets.Asset | tuple[s3.IBucket, str],
    *,
    version: str,
    service: str,
    install_dir: str,
    app_port: int,
    health_path: str,
    wait_seconds: int = RELEASE_HEALTH_WAIT_SECONDS,
) -> ec2.InitConfig:
    """Unpack a release, run it under systemd, succeed once it is healthy."""
    unit = render(
        "web/app.service", service=service, install_dir=install_dir, app_port=app_port
    )
    return ec2.InitConfig(
        [
            # The sample release ships as an asset; a named one from the bucket.
            ec2.InitSource.from_existing_asset(
                f"{install_dir}/releases/{version}", release
            )
            if isinstance(release, s3_assets.Asset)
            else ec2.InitSource.from_s3_object(
                f"{install_dir}/releases/{version}", *release
            ),
            ec2.InitFile.from_string(
                f"{SYSTEMD}/{service}.service", unit, mode=READABLE
            ),
            _script("activate-release", "web/activate-release.sh"),
            ec2.InitCommand.shell_command(
                _command(
                    f"{SBIN}/activate-release",
                    service,
                    install_dir,
                    version,
                    app_port,
                    health_path,
                    wait_seconds,
                )
            ),
        ]
    )


def squid_conf(
    *, port: int, vpc_cidr: str, cache_dir: str, cache_mb: int, cache_mem_mb: int
) -> str:
    """squid.conf: serves the VPC only, never fetches internal addresses."""
    return render(
        "squid/squid.conf",
        port=port,
        vpc_cidr=vpc_cidr,
        cache_dir=cache_dir,
        cache_mb=cache_mb,
        cache_mem_mb=cache_mem_mb,
        hostname="squid",
    )


def squid_init(conf: str, *, cache_dir: str) -> ec2.InitConfig:
    """Squid running `conf`, its cache on the instance-store disk."""
    return ec2.InitConfig(
        [
            ec2.InitPackage.yum("squid"),
            ec2.InitFile.from_string("/etc/squid/squid.conf", conf, mode=READABLE),
            _script("init-squid", "squid/init-squid.sh"),
            ec2.InitCommand.shell_command(_command(f"{SBIN}/init-squid", cache_dir)),
        ]
    )


def redis_conf(
    *,
    port: int,
    data_dir: str,
    config_dir: str,
    maxmemory_mb: int,
    maxmemory_policy: str,
    replica_of: tuple[str, int] | None,
) -> str:
    """redis.conf of a primary (`replica_of` None) or of a replica of (host, port)."""
    replication = (
        "# This node is the primary."
        if replica_of is None
        else f"replicaof {replica_of[0]} {replica_of[1]}"
    )
    return render(
        "redis/redis.conf",
        port=port,
        data_dir=data_dir,
        config_dir=config_dir,
        maxmemory_mb=maxmemory_mb,
        maxmemory_policy=maxmemory_policy,
        replication=replication,
    )


def redis_init(conf: str, *, data_dir: str, package: str = "redis6") -> ec2.InitConfig:
    """Amazon Linux 2023's Redis package, run with the rendered `conf`."""
    config_dir = f"/etc/{package}"
    return ec2.InitConfig(
        [
            ec2.InitPackage.yum(package),
            ec2.InitFile.from_string(
                f"{config_dir}/{package}.conf", conf, owner=package, group=package
            ),
            _script("init-redis", "redis/init-redis.sh"),
            ec2.InitCommand.shell_command(
                _command(f"{SBIN}/init-redis", package, package, config_dir, data_dir)
            ),
        ]
    )


def solr_init(
    *,
    version: str,
    sha512: str,
    port: int,
    solr_home: str,
    heap: str,
    data_unit: str,
    download_env: Mapping[str, str],
    install_root: str = "/opt",
) -> ec2.InitConfig:
    """One pinned, checksum-verified Solr release with its home on `solr_home`."""
    include = render("solr/solr.in.sh", port=port, solr_home=solr_home, heap=heap)
    unit = render(
        "solr/solr.service",
        version=version,
        install_root=install_root,
        port=port,
        data_unit=data_unit,
    )
    return ec2.InitConfig(
        [
            ec2.InitPackage.yum("java-17-amazon-corretto-headless"),
            ec2.InitFile.from_string("/etc/default/solr.in.sh", include, mode=READABLE),
            ec2.InitFile.from_string(f"{SYSTEMD}/solr.service", unit, mode=READABLE),
            _script("install-solr", "solr/install-solr.sh"),
            ec2.InitCommand.shell_command(
                _command(
                    f"{SBIN}/install-solr", version, sha512, install_root, solr_home
                ),
                env=dict(download_env),
            ),
        ]
    )


def mysql_account_host(cidr: str) -> str:
    """MySQL's address/netmask spelling of a CIDR, e.g. 10.20.0.0/255.255.0.0."""
    network = ipaddress.IPv4Network(cidr)
    return f"{network.network_address}/{network.netmask}"


def my_cnf(
    *,
    role: str,
    shard: int,
    server_id: int,
    port: int,
    data_dir: str,
    tmp_dir: str,
    read_only: bool,
    binlog_retention_seconds: int,
    max_connections: int,
) -> str:
    """my.cnf of one MySQL host; a replica refuses writes (`read_only`)."""
    return render(
        "mysql/my.cnf",
        role=role,
        shard=shard,
        server_id=server_id,
        port=port,
        data_dir=data_dir,
        tmp_dir=tmp_dir,
        read_only="ON" if read_only else "OFF",
        binlog_retention_seconds=binlog_retention_seconds,
        max_connections=max_connections,
    )


def mysql_init(
    conf: str,
    *,
    version: str,
    data_dir: str,
    tmp_dir: str,
    data_unit: str,
    download_env: Mapping[str, str],
) -> ec2.InitConfig:
    """MySQL `version` installed, initialised on `data_dir` and running."""
    return ec2.InitConfig(
        [
            ec2.InitFile.from_string("/etc/my.cnf", conf, mode=READABLE),
            _script("init-mysql-server", "mysql/init-server.sh"),
            ec2.InitCommand.shell_command(
                _command(
                    f"{SBIN}/init-mysql-server", version, data_dir, tmp_dir, data_unit
                ),
                env=dict(download_env),
            ),
        ]
    )


def replication_init(
    *,
    parameter: str,
    region: str,
    account_host: str,
    source: tuple[str, int] | None,
) -> ec2.InitConfig:
    """The primary's replication account, or a replica following `source`."""
    role = ["primary"] if source is None else ["replica"]
    tail = [] if source is None else [source[0], source[1]]
    argv = [f"{SBIN}/init-mysql-replication", *role, parameter, region, account_host]
    return ec2.InitConfig(
        [
            _script("init-mysql-replication", "mysql/init-replication.sh"),
            ec2.InitCommand.shell_command(_command(*argv, *tail)),
        ]
    )
