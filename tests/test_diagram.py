"""`make diagram`: the architecture drawn from the templates, edges = port matrix."""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

import pytest

from scripts.assembly import read_assembly, stages, write_assembly
from scripts.diagram import (
    Architecture,
    Flow,
    Link,
    compare_flows,
    declared_flows,
    main,
    to_dot,
)

STAGE = json.loads((Path(__file__).parent / "fixtures/review/stage.json").read_text())
EDGE = re.compile(r'^\s*"([^"]+)" -> "([^"]+)" \[label="([^"]*)"(.*)\];$')


def hand_made(tmp_path: Path) -> Architecture:
    stacks = {f"Dev/{name}": copy.deepcopy(t) for name, t in STAGE.items()}
    assembly = read_assembly(write_assembly(tmp_path / "cdk.out", stacks))
    return Architecture(stages(assembly)["Dev"])


def port_edges(dot: str) -> set[Flow]:
    """The solid edges of a DOT file, one Flow per port of each label."""
    flows = set()
    for line in dot.splitlines():
        match = EDGE.match(line)
        if match and "dashed" not in match.group(4):
            source, target, label = match.group(1, 2, 3)
            flows |= {Flow(source, target, port) for port in label.split(", ")}
    return flows


def test_the_edges_are_exactly_the_rules_of_hand_made_templates(tmp_path):
    architecture = hand_made(tmp_path)

    drawn = port_edges(to_dot(architecture, "Dev"))

    assert drawn == {
        Flow("internet", "alb", "443"),
        Flow("internet", "alb", "80"),
        Flow("alb", "web", "8080"),
        Flow("web", "mysql", "3306"),
        Flow("vpc", "endpoints", "443"),
    }


def test_the_load_balancer_dns_buckets_and_trail_are_attached(tmp_path):
    architecture = hand_made(tmp_path)

    assert architecture.links == {
        Link("Edge/Alb", "alb", "security group"),
        Link("Edge/Alb", "Edge/LogsBucket", "access logs"),
        Link("Edge/PublicZone", "Edge/Alb", "A dev.example.com"),
        Link("Security/Trail", "Security/AuditBucket", "log files"),
        Link("mysql", "Data/BackupBucket", "IAM access"),
    }
    assert "listeners: HTTPS 443" in architecture.labels["Edge/Alb"]
    assert architecture.host_summary() == {
        "web": ["ASG 2 x i2.xlarge"],
        "mysql": ["instance 1 x i2.xlarge"],
    }


def test_a_new_rule_shows_up_as_an_edge(tmp_path):
    stacks = {f"Dev/{name}": copy.deepcopy(t) for name, t in STAGE.items()}
    stacks["Dev/Data"]["Resources"]["MysqlSg"]["Properties"]["SecurityGroupIngress"] = [
        {
            "IpProtocol": "tcp",
            "FromPort": 3306,
            "ToPort": 3306,
            "SourceSecurityGroupId": {"Fn::GetAtt": ["MysqlSg", "GroupId"]},
        }
    ]
    assembly = read_assembly(write_assembly(tmp_path, stacks))

    flows = Architecture(stages(assembly)["Dev"]).flows()

    assert Flow("mysql", "mysql", "3306") in flows


def test_declared_rows_of_any_shape_compare_with_the_drawn_flows():
    class Row:
        def __init__(self, source, target, port):
            self.source, self.target, self.port = source, target, port

    declared = declared_flows(
        [
            Row("internet", "alb", 443),
            ("alb", "web", 8080),
            {"source": "web", "target": "mysql", "ports": [3306]},
        ]
    )
    drawn = {
        Flow("internet", "alb", "443"),
        Flow("alb", "web", "8080"),
        Flow("web", "redis", "6379"),
    }

    missing, extra = compare_flows(drawn, declared)

    assert missing == {Flow("web", "mysql", "3306")}
    assert extra == {Flow("web", "redis", "6379")}


def stages_with_groups(outdir: Path) -> dict[str, Architecture]:
    """Stages that have security groups (a backup-only DR stage has none)."""
    found = {}
    for stage, stacks in stages(read_assembly(outdir)).items():
        if any(next(s.of_type("AWS::EC2::SecurityGroup"), None) for s in stacks):
            found[stage] = stacks
    return found


def test_the_drawn_edges_of_every_stage_are_the_flows_its_templates_allow(
    synthesized,
):
    drawable = stages_with_groups(synthesized.outdir)
    assert drawable, "no stage of the app has security groups"

    for stage, stacks in drawable.items():
        architecture = Architecture(stacks)
        flows = architecture.flows()

        assert flows, f"{stage}: no security group rules found"
        assert port_edges(to_dot(architecture, stage)) == flows


def test_the_drawn_edges_of_every_stage_are_the_declared_port_matrix(synthesized):
    ports = pytest.importorskip("config.ports")
    if not hasattr(ports, "PORT_MATRIX"):
        pytest.skip("config/ports.py declares no PORT_MATRIX yet")
    from config import load_stages

    declared = declared_flows(ports.PORT_MATRIX)
    configs = load_stages()
    for stage, stacks in stages_with_groups(synthesized.outdir).items():
        aliases = {"endpoints": ports.ENDPOINTS, "internet": ports.INTERNET}
        if stage in configs:
            aliases[f"prefix list {configs[stage].s3_prefix_list_id}"] = ports.S3
        drawn = Architecture(stacks, aliases).flows()

        missing, extra = compare_flows(drawn, declared)

        assert (sorted(missing), sorted(extra)) == ([], []), (
            f"{stage}: (declared but not allowed by any rule, allowed but not declared)"
        )


def test_make_diagram_renders_svg_and_png(tmp_path):
    assert shutil.which("dot"), "Graphviz is not installed: apt-get install graphviz"
    stacks = {f"Prod/{name}": t for name, t in STAGE.items()}
    write_assembly(tmp_path / "cdk.out", stacks)
    out = tmp_path / "docs" / "architecture"

    status = main(["--assembly", str(tmp_path / "cdk.out"), "--out", str(out)])

    assert status == 0
    assert "<svg" in out.with_suffix(".svg").read_text()
    assert out.with_suffix(".png").read_bytes().startswith(b"\x89PNG")
    assert (
        '"internet" -> "alb" [label="80, 443"];' in out.with_suffix(".dot").read_text()
    )
