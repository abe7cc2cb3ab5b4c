"""The restore drill against moto: what it finds, launches, sends, checks, reports.

moto reports every SSM command as a success without running it, so each test
plays the host: a botocore `before-call` hook answers GetCommandInvocation with
what restore.sh would have printed. Another hook records the RunInstances
request, because moto 5.2.5 rejects the instance-store mapping (a device with a
VirtualName and no Ebs) that EC2 accepts; it is recorded, then left out.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import shlex
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

from config import load_stages
from config.naming import bucket_name
from scripts import restore_drill
from scripts.restore import host, remote

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
PROD = load_stages()["Prod"]
TABLES = ("slack.messages", "slack.users")
_SHARED_LOADER = botocore.loaders.create_loader()
OLDER, NEWER = "2025-03-01T030000Z", "2025-03-02T030000Z"


def backup_key(stage: str, shard: int, stamp: str) -> str:
    """Where backup.sh puts a backup taken at `stamp`."""
    return f"mysql/{stage}/{shard}/{stamp[:10]}/mysql-{stage}-{shard}-{stamp}.sql.zst"


@dataclass
class Region:
    """One region's deployed stage in moto: VPC, subnets, groups, a MySQL host."""

    name: str
    stage: str
    vpc_id: str = ""
    isolated: list[str] = field(default_factory=list)
    mysql_group: str = ""
    image_id: str = ""
    profile_arn: str = ""
    mysql_host: str = ""

    @property
    def ec2(self) -> Any:
        """An EC2 client of this region."""
        return boto3.client("ec2", region_name=self.name)

    def deploy(self) -> Region:
        """Create what the stage's Network and Data stacks leave behind."""
        ec2 = self.ec2
        self.vpc_id = ec2.create_vpc(
            CidrBlock="10.20.0.0/16", TagSpecifications=[_tags("vpc", stage=self.stage)]
        )["Vpc"]["VpcId"]
        for index, (tier, zone) in enumerate(
            [("Private", "a"), ("Isolated", "b"), ("Isolated", "a")]
        ):
            subnet = ec2.create_subnet(
                VpcId=self.vpc_id,
                CidrBlock=f"10.20.{index}.0/24",
                AvailabilityZone=f"{self.name}{zone}",
                TagSpecifications=[_tags("subnet", **{"aws-cdk:subnet-name": tier})],
            )["Subnet"]
            if tier == "Isolated":
                self.isolated.append(subnet["SubnetId"])
        for tier in ("web", "mysql"):
            group = ec2.create_security_group(
                GroupName=f"{tier}-group", Description=f"{tier} tier", VpcId=self.vpc_id
            )
            if tier == "mysql":
                self.mysql_group = group["GroupId"]
        self.image_id = ec2.register_image(
            Name=f"{self.stage}-mysql", RootDeviceName="/dev/xvda"
        )["ImageId"]
        self.profile_arn = boto3.client("iam").create_instance_profile(
            InstanceProfileName=f"{self.stage}-mysql"
        )["InstanceProfile"]["Arn"]
        self.mysql_host = ec2.run_instances(
            ImageId=self.image_id,
            MinCount=1,
            MaxCount=1,
            SubnetId=self.isolated[0],
            IamInstanceProfile={"Arn": self.profile_arn},
            TagSpecifications=[
                _tags(
                    "instance",
                    stage=self.stage,
                    tier="mysql",
                    role="replica",
                    shard="0",
                )
            ],
        )["Instances"][0]["InstanceId"]
        return self

    def drill_hosts(self) -> list[dict[str, Any]]:
        """Every instance the drill launched, in any state."""
        filters = [{"Name": "tag:purpose", "Values": ["restore-drill"]}]
        reservations = self.ec2.describe_instances(Filters=filters)["Reservations"]
        return [i for r in reservations for i in r["Instances"]]


@dataclass
class Bucket:
    """A backups bucket in moto, filled the way backup.sh fills it."""

    name: str
    region: str

    def create(self) -> Bucket:
        """Create the bucket in its region."""
        location = (
            {}
            if self.region == "us-east-1"
            else {"CreateBucketConfiguration": {"LocationConstraint": self.region}}
        )
        self.s3.create_bucket(Bucket=self.name, **location)
        return self

    @property
    def s3(self) -> Any:
        """An S3 client of the bucket's region."""
        return boto3.client("s3", region_name=self.region)

    def put_backup(
        self,
        stage: str,
        shard: int,
        stamp: str,
        *,
        checksum: bool = True,
        storage_class: str = "STANDARD",
    ) -> Backup:
        """Upload a backup and, unless told not to, its checksum object."""
        key = backup_key(stage, shard, stamp)
        body = f"compressed dump of {stage} shard {shard} at {stamp}".encode()
        self.s3.put_object(
            Bucket=self.name, Key=key, Body=body, StorageClass=storage_class
        )
        digest = hashlib.sha256(body).hexdigest()
        if checksum:
            line = f"{digest}  {key.rsplit('/', 1)[-1]}\n"
            self.s3.put_object(Bucket=self.name, Key=f"{key}.sha256", Body=line)
        return Backup(self.name, self.region, key, len(body), digest)


@dataclass(frozen=True)
class Backup:
    """What the test uploaded, to build the host's answer from."""

    bucket: str
    region: str
    key: str
    size: int
    sha256: str


@dataclass
class FakeHost:
    """Plays the restore host: answers the command, records what was asked."""

    status: str = "Success"
    stdout: str = ""
    stderr: str = ""
    response_code: int = 0
    run_instances: list[dict[str, Any]] = field(default_factory=list)
    unregistered_sends: int = 0
    capacity_refusals: int = 0
    stopped_while_restoring: bool = False
    failing: dict[str, str] = field(default_factory=dict)

    def restores(self, backup: Backup, counts: dict[str, int]) -> None:
        """Answer with the JSON restore.sh prints after restoring `backup`."""
        seconds = {name: 1.5 for name in remote.HOST_PHASES}
        self.stdout = (
            "mounted /dev/xvdb (restore) at /restore\n"
            + json.dumps(
                {
                    "backup": f"s3://{backup.bucket}/{backup.key}",
                    "bytes": backup.size,
                    "sha256": backup.sha256,
                    "seconds": seconds,
                    "tables": counts,
                }
            )
            + "\n"
        )

    def session(self) -> boto3.Session:
        """A session whose clients reach moto, except where this host answers."""
        core = botocore.session.get_session()
        # Each test's session has its own event hooks but reads the service
        # models through one loader, so they are parsed once per process.
        core.register_component("data_loader", _SHARED_LOADER)
        session = boto3.Session(botocore_session=core, region_name="us-east-1")
        # Each boto3 session appends its data folder to the loader's paths.
        paths = _SHARED_LOADER.search_paths
        paths[:] = list(dict.fromkeys(paths))
        events = session.events
        events.register("before-call.ssm.GetCommandInvocation", self._invocation)
        events.register("before-call.ssm.SendCommand", self._send)
        events.register("before-parameter-build.ec2.RunInstances", self._launch)
        events.register("before-call.ec2.RunInstances", self._capacity)
        for operation, code in self.failing.items():
            events.register(f"before-call.{operation}", _error(code))
        return session

    def _invocation(self, params: dict[str, Any], **_: Any):
        if self.stopped_while_restoring:
            os.kill(os.getpid(), signal.SIGTERM)
        body = json.loads(params["body"])
        return AWSResponse("", 200, {}, None), {
            "CommandId": body["CommandId"],
            "InstanceId": body["InstanceId"],
            "Status": self.status,
            "ResponseCode": self.response_code,
            "StandardOutputContent": self.stdout,
            "StandardErrorContent": self.stderr,
        }

    def _send(self, **_: Any):
        if self.unregistered_sends:
            self.unregistered_sends -= 1
            return _error("InvalidInstanceId")()
        return None

    def _capacity(self, **_: Any):
        if self.capacity_refusals:
            self.capacity_refusals -= 1
            return _error("InsufficientInstanceCapacity")()
        return None

    def _launch(self, params: dict[str, Any], **_: Any) -> None:
        self.run_instances.append(copy.deepcopy(params))
        if "BlockDeviceMappings" in params:
            params["BlockDeviceMappings"] = [
                m for m in params["BlockDeviceMappings"] if "Ebs" in m
            ] or [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}]


class NoSession:
    """A session that fails the test if the drill asks it for a client."""

    def client(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the drill made an AWS client for bad arguments")


def _error(code: str) -> Callable[..., tuple[AWSResponse, dict[str, Any]]]:
    def answer(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse("", 400, {}, None), {
            "Error": {"Code": code, "Message": f"{code} (test)"}
        }

    return answer


def _tags(kind: str, **tags: str) -> dict[str, Any]:
    return {
        "ResourceType": kind,
        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
    }


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and an in-process moto account; no waiting between polls."""
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    # The drill registers its own image; moto's hundreds of default ones only
    # cost time in every region each test touches.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    for module in (host, remote):
        monkeypatch.setattr(module, "_sleep", lambda seconds: None)
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        yield


@pytest.fixture
def prod(aws: None) -> Region:
    """The Prod stage deployed in its home region."""
    return Region(PROD.region, PROD.name).deploy()


@pytest.fixture
def backups(aws: None) -> Bucket:
    """Prod's backups bucket in its home region, empty."""
    return Bucket(bucket_name(PROD, "backups"), PROD.region).create()


@pytest.fixture
def fake_host() -> FakeHost:
    """A host that has not answered anything yet."""
    return FakeHost()


@pytest.fixture
def drill(tmp_path: Path, fake_host: FakeHost, capsys) -> Callable[..., Result]:
    """Run the drill command with the fake host; return its outcome."""

    def run(*args: str) -> Result:
        report = tmp_path / "report.json"
        argv = ["--stage", PROD.name, "--shard", "0", "--report", str(report), *args]
        code = restore_drill.main(argv, session=fake_host.session())
        out, err = capsys.readouterr()
        data = json.loads(report.read_text()) if report.exists() else None
        return Result(code=code, stdout=out, stderr=err, report=data)

    return run


@dataclass(frozen=True)
class Result:
    """How one drill ended: exit code, output, and the report it wrote."""

    code: int
    stdout: str
    stderr: str
    report: dict[str, Any] | None


def _sent_commands(region: str) -> list[dict[str, Any]]:
    return boto3.client("ssm", region_name=region).list_commands()["Commands"]


def _decoded_script(lines: list[str], name: str) -> bytes:
    line = next(line for line in lines if f'>"$bin/{name}"' in line)
    return base64.b64decode(line.split()[1])


def _restore_env(lines: list[str]) -> dict[str, str]:
    words = shlex.split(next(line for line in lines if line.startswith("env ")))
    return dict(word.split("=", 1) for word in words[1:] if "=" in word)


def test_a_good_backup_restores_and_the_report_holds_every_phase(
    prod, backups, fake_host, drill
):
    backups.put_backup(PROD.name, 0, OLDER)
    newest = backups.put_backup(PROD.name, 0, NEWER)
    fake_host.restores(newest, {"slack.messages": 1200, "slack.users": 40})

    result = drill("--tables", ",".join(TABLES))

    assert result.code == 0, result.stderr
    report = result.report
    assert report["ok"] is True
    assert report["failure"] is None
    assert report["source"]["key"] == newest.key
    assert report["source"]["sha256"] == newest.sha256
    assert report["tables"] == {"slack.messages": 1200, "slack.users": 40}
    assert set(report["phases_seconds"]) == {*restore_drill.RTO_PHASES, "terminate"}
    assert all(seconds >= 0 for seconds in report["phases_seconds"].values())
    assert set(report["host_phases_seconds"]) == set(remote.HOST_PHASES)
    rto_phases = [report["phases_seconds"][name] for name in restore_drill.RTO_PHASES]
    assert report["rto_seconds"] == pytest.approx(sum(rto_phases), abs=0.01)
    assert "passed" in result.stdout
    assert "RTO" in result.stdout


def test_the_host_is_terminated_after_a_good_restore(prod, backups, fake_host, drill):
    fake_host.restores(
        backups.put_backup(PROD.name, 0, NEWER), dict.fromkeys(TABLES, 5)
    )

    result = drill("--tables", ",".join(TABLES))

    assert result.code == 0, result.stderr
    [instance] = prod.drill_hosts()
    assert instance["State"]["Name"] in ("shutting-down", "terminated")
    assert result.report["host"]["terminated"] is True
    assert result.report["host"]["instance_id"] == instance["InstanceId"]


def test_the_host_is_launched_like_a_mysql_host_in_an_isolated_subnet(
    prod, backups, fake_host, drill
):
    fake_host.restores(
        backups.put_backup(PROD.name, 0, NEWER), dict.fromkeys(TABLES, 5)
    )

    drill("--tables", ",".join(TABLES))

    [request] = fake_host.run_instances
    [instance] = prod.drill_hosts()
    assert instance["SubnetId"] in prod.isolated
    assert [g["GroupId"] for g in instance["SecurityGroups"]] == [prod.mysql_group]
    assert instance["MetadataOptions"]["HttpTokens"] == "required"
    assert instance["ImageId"] == prod.image_id
    assert instance["InstanceType"] == PROD.mysql.instance_type
    assert request["IamInstanceProfile"] == {"Arn": prod.profile_arn}
    assert host.INSTANCE_STORE in request["BlockDeviceMappings"]
    tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
    assert tags["purpose"] == "restore-drill"
    assert tags["stage"] == PROD.name
    assert "tier" not in tags


def test_the_host_runs_this_checkouts_restore_script_on_the_newest_backup(
    prod, backups, fake_host, drill
):
    backups.put_backup(PROD.name, 0, OLDER)
    backups.put_backup(PROD.name, 1, "2025-03-09T030000Z")
    newest = backups.put_backup(PROD.name, 0, NEWER)
    fake_host.restores(newest, dict.fromkeys(TABLES, 5))

    drill("--tables", ",".join(TABLES))

    [command] = _sent_commands(PROD.region)
    lines = command["Parameters"]["commands"]
    assert command["DocumentName"] == "AWS-RunShellScript"
    assert _decoded_script(lines, "restore") == remote.RESTORE_SCRIPT.read_bytes()
    assert _decoded_script(lines, "mount-disk") == remote.MOUNT_SCRIPT.read_bytes()
    assert _restore_env(lines) == {
        "BUCKET": backups.name,
        "REGION": PROD.region,
        "BACKUP_KEY": newest.key,
        "TABLES": " ".join(TABLES),
        "WORK_DIR": remote.WORK_DIR,
    }


def test_the_command_waits_for_the_hosts_ssm_agent_to_register(
    prod, backups, fake_host, drill
):
    fake_host.restores(
        backups.put_backup(PROD.name, 0, NEWER), dict.fromkeys(TABLES, 5)
    )
    fake_host.unregistered_sends = 2

    result = drill("--tables", ",".join(TABLES))

    assert result.code == 0, result.stderr
    assert fake_host.unregistered_sends == 0
    assert len(_sent_commands(PROD.region)) == 1


def test_a_zone_without_capacity_sends_the_host_to_the_next_isolated_subnet(
    prod, backups, fake_host, drill
):
    fake_host.restores(
        backups.put_backup(PROD.name, 0, NEWER), dict.fromkeys(TABLES, 5)
    )
    fake_host.capacity_refusals = 1

    result = drill("--tables", ",".join(TABLES))

    assert result.code == 0, result.stderr
    first, second = (r["SubnetId"] for r in fake_host.run_instances)
    assert first != second
    assert {first, second} == set(prod.isolated)
    [instance] = prod.drill_hosts()
    assert instance["SubnetId"] == second


def test_no_backup_fails_before_anything_is_launched(prod, backups, fake_host, drill):
    backups.put_backup(PROD.name, 1, NEWER)

    result = drill()

    assert result.code == 1
    assert result.stderr.strip() == (
        f"restore-drill: failed: no backup of Prod shard 0 in "
        f"s3://{backups.name}/mysql/Prod/0/"
    )
    assert prod.drill_hosts() == []
    assert result.report["ok"] is False
    assert result.report["host"] is None


def test_a_missing_checksum_object_fails_before_anything_is_launched(
    prod, backups, fake_host, drill
):
    backups.put_backup(PROD.name, 0, OLDER)
    newest = backups.put_backup(PROD.name, 0, NEWER, checksum=False)

    result = drill()

    assert result.code == 1
    assert f"checksum object s3://{backups.name}/{newest.key}.sha256 is missing" in (
        result.stderr
    )
    assert len(result.stderr.strip().splitlines()) == 1
    assert prod.drill_hosts() == []


def test_an_archived_backup_fails_with_how_to_restore_it(prod, backups, drill):
    backups.put_backup(PROD.name, 0, NEWER, storage_class="GLACIER")

    result = drill()

    assert result.code == 1
    assert "is archived in GLACIER" in result.stderr
    assert "restore-object" in result.stderr
    assert prod.drill_hosts() == []


def test_a_failed_restore_command_fails_the_drill_and_still_terminates_the_host(
    prod, backups, fake_host, drill
):
    backups.put_backup(PROD.name, 0, NEWER)
    fake_host.status, fake_host.response_code = "Failed", 1
    fake_host.stderr = (
        "downloading ...\nmysql-restore: error: checksum mismatch: s3://b/k has "
        "sha256 aa; its checksum object says bb\n"
    )

    result = drill()

    assert result.code == 1
    assert "restore command ended Failed (exit 1)" in result.stderr
    assert "checksum mismatch" in result.stderr
    [instance] = prod.drill_hosts()
    assert instance["State"]["Name"] in ("shutting-down", "terminated")
    assert result.report["ok"] is False
    assert result.report["rto_seconds"] is None
    assert "checksum mismatch" in result.report["stderr_tail"]
    assert "terminate" in result.report["phases_seconds"]


def test_a_drill_stopped_by_sigterm_still_terminates_the_host(
    prod, backups, fake_host, drill
):
    backups.put_backup(PROD.name, 0, NEWER)
    fake_host.stopped_while_restoring = True
    handler_before = signal.getsignal(signal.SIGTERM)

    result = drill()

    assert result.code == 130
    assert "stopped by a signal" in result.stderr
    [instance] = prod.drill_hosts()
    assert instance["State"]["Name"] in ("shutting-down", "terminated")
    assert signal.getsignal(signal.SIGTERM) is handler_before


def test_a_table_restored_with_no_rows_fails_the_drill(prod, backups, fake_host, drill):
    newest = backups.put_backup(PROD.name, 0, NEWER)
    fake_host.restores(newest, {"slack.messages": 1200, "slack.users": 0})

    result = drill("--tables", ",".join(TABLES))

    assert result.code == 1
    assert "table slack.users was restored with no rows" in result.stderr
    assert result.report["tables"] == {"slack.messages": 1200, "slack.users": 0}
    [instance] = prod.drill_hosts()
    assert instance["State"]["Name"] in ("shutting-down", "terminated")


def test_a_table_the_host_did_not_count_fails_the_drill(
    prod, backups, fake_host, drill
):
    newest = backups.put_backup(PROD.name, 0, NEWER)
    fake_host.restores(newest, {"slack.messages": 1200})

    result = drill("--tables", ",".join(TABLES))

    assert result.code == 1
    assert "no row count for slack.users" in result.stderr


def test_a_host_that_printed_no_json_fails_the_drill(prod, backups, fake_host, drill):
    backups.put_backup(PROD.name, 0, NEWER)
    fake_host.stdout = "mounted /dev/xvdb (restore) at /restore\n"

    result = drill()

    assert result.code == 1
    assert "printed no result the drill can read" in result.stderr


def test_the_default_tables_are_the_ones_checked(prod, backups, fake_host, drill):
    newest = backups.put_backup(PROD.name, 0, NEWER)
    fake_host.restores(newest, dict.fromkeys(restore_drill.DEFAULT_TABLES, 9))

    result = drill()

    assert result.code == 0, result.stderr
    env = _restore_env(_sent_commands(PROD.region)[0]["Parameters"]["commands"])
    assert env["TABLES"] == " ".join(restore_drill.DEFAULT_TABLES)


def test_keep_leaves_the_host_running(prod, backups, fake_host, drill):
    fake_host.restores(
        backups.put_backup(PROD.name, 0, NEWER), dict.fromkeys(TABLES, 5)
    )

    result = drill("--tables", ",".join(TABLES), "--keep")

    assert result.code == 0, result.stderr
    [instance] = prod.drill_hosts()
    assert instance["State"]["Name"] == "running"
    assert result.report["host"]["kept"] is True
    assert result.report["host"]["terminated"] is False
    assert f"terminate-instances --instance-ids {instance['InstanceId']}" in (
        result.stdout
    )


def test_a_host_that_cannot_be_terminated_fails_the_drill_loudly(
    prod, backups, aws, tmp_path, capsys
):
    newest = backups.put_backup(PROD.name, 0, NEWER)
    fake_host = FakeHost(failing={"ec2.TerminateInstances": "UnauthorizedOperation"})
    fake_host.restores(newest, dict.fromkeys(TABLES, 5))
    report = tmp_path / "report.json"

    argv = ["--stage", "Prod", "--shard", "0", "--tables", ",".join(TABLES)]

    code = restore_drill.main(
        [*argv, "--report", str(report)], session=fake_host.session()
    )

    err = capsys.readouterr().err
    assert code == 1
    assert "was NOT terminated (UnauthorizedOperation)" in err
    assert json.loads(report.read_text())["host"]["terminated"] is False


def test_the_dr_rehearsal_restores_from_the_replica_in_the_dr_region(
    prod, backups, fake_host, drill
):
    replica = PROD.disaster_recovery
    assert replica is not None, "Prod must replicate its backups for this test"
    dr = Region(replica.region, replica.name).deploy()
    dr_bucket = Bucket(bucket_name(replica, "backups"), replica.region).create()
    copied = dr_bucket.put_backup(PROD.name, 0, OLDER)
    # Not yet replicated: the rehearsal must not read the home region at all.
    backups.put_backup(PROD.name, 0, NEWER)
    fake_host.restores(copied, dict.fromkeys(TABLES, 5))

    result = drill("--tables", ",".join(TABLES), "--from-replica")

    assert result.code == 0, result.stderr
    assert result.report["source"]["bucket"] == dr_bucket.name
    assert result.report["source"]["key"] == copied.key
    assert result.report["source"]["region"] == replica.region
    assert result.report["host"]["region"] == replica.region
    [instance] = dr.drill_hosts()
    assert instance["SubnetId"] in dr.isolated
    assert prod.drill_hosts() == []
    [command] = _sent_commands(replica.region)
    env = _restore_env(command["Parameters"]["commands"])
    assert (env["BUCKET"], env["REGION"]) == (dr_bucket.name, replica.region)


def test_a_bucket_in_another_region_than_the_host_is_refused(
    prod, backups, fake_host, drill
):
    backups.put_backup(PROD.name, 0, NEWER)

    result = drill("--region", "us-west-2")

    assert result.code == 1
    assert f"bucket {backups.name} is in {PROD.region}" in result.stderr
    assert "isolated subnet reaches S3 only in its own region" in result.stderr
    assert prod.drill_hosts() == []


def test_a_launch_template_tagged_for_the_drill_is_preferred(
    prod, backups, fake_host, drill
):
    template = prod.ec2.create_launch_template(
        LaunchTemplateName="mysql-restore-drill",
        LaunchTemplateData={"ImageId": prod.image_id, "InstanceType": "r5d.xlarge"},
        TagSpecifications=[
            _tags(
                "launch-template",
                stage=PROD.name,
                tier="mysql",
                purpose="restore-drill",
            )
        ],
    )["LaunchTemplate"]["LaunchTemplateId"]
    fake_host.restores(
        backups.put_backup(PROD.name, 0, NEWER), dict.fromkeys(TABLES, 5)
    )

    result = drill("--tables", ",".join(TABLES))

    assert result.code == 0, result.stderr
    [request] = fake_host.run_instances
    assert request["LaunchTemplate"] == {
        "LaunchTemplateId": template,
        "Version": "$Default",
    }
    assert "BlockDeviceMappings" not in request
    assert "InstanceType" not in request
    assert request["MetadataOptions"]["HttpTokens"] == "required"
    assert result.report["host"]["launched_from"] == f"launch template {template}"


def test_a_stage_not_deployed_in_the_region_fails_naming_it(backups, drill):
    backups.put_backup(PROD.name, 0, NEWER)

    result = drill()

    assert result.code == 1
    assert f"0 VPCs tagged stage=Prod in {PROD.region}" in result.stderr


def test_a_dry_run_launches_nothing_and_writes_no_report(prod, backups, drill):
    backups.put_backup(PROD.name, 0, NEWER)

    result = drill("--dry-run")

    assert result.code == 0, result.stderr
    assert prod.drill_hosts() == []
    assert result.report is None
    assert "EC2 accepted the launch request" in result.stdout
    assert _sent_commands(PROD.region) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--stage", "Staging", "--shard", "0"], "--stage 'Staging' is not in"),
        (["--stage", "Prod", "--shard", str(PROD.mysql.shards)], "--shard"),
        (["--stage", "Prod", "--shard", "0", "--tables", "x;DROP"], "--tables entry"),
        (["--stage", "Dev", "--shard", "0", "--from-replica"], "no backup.replica"),
    ],
)
def test_bad_arguments_exit_2_before_any_aws_call(args, message, capsys):
    code = restore_drill.main(args, session=NoSession())

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("restore-drill: ")
    assert message in err
