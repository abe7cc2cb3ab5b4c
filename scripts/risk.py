"""Classify the risky changes between a base cloud assembly and the current one.

    python -m scripts.risk --base BASE_CDK_OUT [--current cdk.out]
                           [--waivers risk-waivers.json]

Stacks are matched by display name (e.g. "Prod/Data"). What a change does to a
resource (update, replacement, deletion) comes from the CDK's own diff engine,
run through scripts/cfn_diff.js with the pinned Node; so does the list of
stateful resource types. The other rules read the two templates directly.

One line is printed per risky change; the exit status is 1 unless every risky
change is waived by an entry in the waivers file, 2 when the tools cannot run.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.assembly import ROOT, AssemblyError, Stack, emit, read_assembly, stages
from scripts.sgrules import Rule, StageGroups, render
from scripts.snapshots import normalize

DIFF_SCRIPT = Path(__file__).with_name("cfn_diff.js")
DEFAULT_WAIVERS = ROOT / "risk-waivers.json"
STACK_LEVEL = "(stack)"

# Types the CDK's resource database does not mark stateful but this platform does.
EXTRA_STATEFUL = {
    # MySQL, Redis and Solr keep their data on the instance store of these hosts.
    "AWS::EC2::Instance",
    # Registrars delegate to a zone's name servers; a new zone gets new ones.
    "AWS::Route53::HostedZone",
}
REPLACING = {"WILL_REPLACE": "will be replaced", "MAY_REPLACE": "may be replaced"}
REMOVING = {"WILL_DESTROY", "WILL_ORPHAN"}
PROTECTIVE_POLICIES = {"Retain", "RetainExceptOnCreate", "Snapshot"}
_PROTECTION_KEYS = {
    "deletionprotection",
    "deletionprotectionenabled",
    "terminationprotection",
    "terminationprotectionenabled",
    "enableterminationprotection",
    "disableapitermination",
}
_ENCRYPTION_HINTS = ("encrypt", "kms", "sse")
_TLS_PROTOCOLS = {"HTTPS", "TLS"}
_LIST_SHOWN = 4
_ACTIONS_SHOWN = 6
TRUST = "trust of"


class ToolError(Exception):
    """A tool this check depends on is missing or failed."""


@dataclass(frozen=True)
class Finding:
    """One risky change of one resource (or of the stack itself)."""

    stage: str
    stack: str
    logical_id: str
    kind: str
    reason: str

    def line(self) -> str:
        return (
            f"{self.stage}/{self.stack} {self.logical_id} [{self.kind}] {self.reason}"
        )


@dataclass(frozen=True)
class EngineResult:
    """What the CDK diff engine says about each changed stack."""

    engine: str
    stateful_types: frozenset[str]
    changes: dict[str, list[dict[str, Any]]]


Engine = Callable[[list[tuple[str, dict, dict]]], EngineResult]


def _node() -> str:
    pinned = ROOT / "node_modules" / ".bin" / "node"
    node = str(pinned) if pinned.exists() else shutil.which("node")
    if node is None:
        raise ToolError("node not found: run `make setup` (pinned Node 22)")
    return node


def _request(pairs: list[tuple[str, dict, dict]]) -> str:
    stacks = [{"name": name, "old": old, "new": new} for name, old, new in pairs]
    return json.dumps({"stacks": stacks})


def _engine_failed(stderr: str) -> ToolError:
    return ToolError(
        f"the CDK diff engine ({DIFF_SCRIPT.name}) failed; is `make setup` done?\n"
        + stderr.strip()[-2000:]
    )


def _result(answer: dict[str, Any]) -> EngineResult:
    return EngineResult(
        engine=answer["engine"],
        stateful_types=frozenset(answer["statefulTypes"]) | EXTRA_STATEFUL,
        changes=answer["stacks"],
    )


def cdk_diff_engine(pairs: list[tuple[str, dict, dict]]) -> EngineResult:
    """Run scripts/cfn_diff.js on (name, old template, new template) triples."""
    done = subprocess.run(
        [_node(), str(DIFF_SCRIPT)],
        input=_request(pairs),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise _engine_failed(done.stderr)
    return _result(json.loads(done.stdout))


class DiffEngineProcess:
    """One scripts/cfn_diff.js process answering many comparisons.

    For callers that compare many times (the test suite): Node's start and the
    CDK's resource database are paid once. Use as a context manager; each call
    behaves as `cdk_diff_engine`. Node's stderr goes to a temporary file, so
    it can never fill a pipe nobody reads; it is quoted when the engine fails.
    """

    def __init__(self) -> None:
        node = _node()
        # Lives as long as the process: closed in __exit__.
        self._stderr = tempfile.TemporaryFile(  # noqa: SIM115
            mode="w+", encoding="utf-8"
        )
        try:
            self._process = subprocess.Popen(
                [node, str(DIFF_SCRIPT), "--serve"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                text=True,
            )
        except OSError:
            self._stderr.close()
            raise

    def __call__(self, pairs: list[tuple[str, dict, dict]]) -> EngineResult:
        stdin, stdout = self._process.stdin, self._process.stdout
        if stdin is None or stdout is None or stdin.closed:
            raise ToolError("the CDK diff engine process is already closed")
        try:
            stdin.write(_request(pairs) + "\n")
            stdin.flush()
            line = stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            self.close()
            raise _engine_failed(
                f"(exit status {self._process.returncode})\n{self._stderr_text()}"
            )
        return _result(json.loads(line))

    def _stderr_text(self) -> str:
        if self._stderr.closed:
            return ""
        self._stderr.seek(0)
        return self._stderr.read()

    def close(self) -> None:
        """End the process (it exits when its input closes) and free its files."""
        if self._process.stdin and not self._process.stdin.closed:
            # Closing flushes what is buffered; a process that has already exited
            # cannot take it. Its exit status and stderr say why.
            with contextlib.suppress(BrokenPipeError):
                self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout:
            self._process.stdout.close()

    def __enter__(self) -> DiffEngineProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
        self._stderr.close()


def compare(
    base: dict[str, Stack], current: dict[str, Stack], engine: Engine = cdk_diff_engine
) -> tuple[list[Finding], str | None]:
    """Every risky change from `base` to `current`, and the diff engine's name."""
    names = sorted(set(base) | set(current))
    pairs = [
        (name, _template(base.get(name)), _template(current.get(name)))
        for name in names
    ]
    changed = [pair for pair in pairs if pair[1] != pair[2]]
    result = engine(changed) if changed else None
    # A new asset (e.g. a release bundle) is the same grant to a reviewer.
    hashes = frozenset().union(
        *(s.asset_hashes for s in (*base.values(), *current.values()))
    )
    findings: list[Finding] = []
    for name in names:
        old, new = base.get(name), current.get(name)
        findings.extend(_stack_protection(old, new))
        if result and name in result.changes:
            context = _Context(old, new, base, current, result, hashes)
            findings.extend(context.findings(result.changes[name]))
    return findings, result.engine if result else None


def _template(stack: Stack | None) -> dict:
    return stack.template if stack else {}


def _stack_protection(old: Stack | None, new: Stack | None) -> list[Finding]:
    if old and new and old.termination_protection and not new.termination_protection:
        return [
            Finding(
                new.stage,
                new.name,
                STACK_LEVEL,
                "protection-off",
                "stack termination protection turned off",
            )
        ]
    return []


class _Context:
    """The two versions of one stack and the stages they belong to."""

    def __init__(
        self,
        old: Stack | None,
        new: Stack | None,
        base: dict[str, Stack],
        current: dict[str, Stack],
        result: EngineResult,
        hashes: frozenset[str],
    ):
        either = new or old
        self.stage, self.stack = either.stage, either.name
        self.gone = new is None
        self.old = canonical(normalize(_template(old).get("Resources", {}), hashes))
        self.new = canonical(normalize(_template(new).get("Resources", {}), hashes))
        self.old_stack, self.new_stack = old, new
        self.base, self.current = base, current
        self.stateful = result.stateful_types

    def finding(self, logical_id: str, kind: str, reason: str) -> Finding:
        return Finding(self.stage, self.stack, logical_id, kind, reason)

    def findings(self, changes: list[dict[str, Any]]) -> Iterator[Finding]:
        for change in changes:
            yield from self._impact(change)
        for logical_id in sorted(set(self.old) & set(self.new)):
            old, new = self.old[logical_id], self.new[logical_id]
            yield from self._policies(logical_id, old, new)
            yield from self._protection(logical_id, old, new)
            yield from self._encryption(logical_id, old, new)
        yield from self._ingress()
        yield from self._iam()

    def _impact(self, change: dict[str, Any]) -> Iterator[Finding]:
        logical_id, impact = change["logicalId"], change["impact"]
        old_type, new_type = change["oldType"], change["newType"]
        if old_type not in self.stateful and new_type not in self.stateful:
            return
        if impact in REPLACING:
            causes = sorted(
                p for p, i in change["properties"].items() if i in REPLACING
            )
            if old_type != new_type:
                causes.append(f"type changed to {new_type}")
            because = f" (changed: {', '.join(causes)})" if causes else ""
            kept = _policy(self.new.get(logical_id), "UpdateReplacePolicy")
            note = (
                f"; UpdateReplacePolicy {kept} keeps the old one, the new starts empty"
                if kept in PROTECTIVE_POLICIES
                else "; the old one and its data are deleted"
            )
            yield self.finding(
                logical_id,
                "stateful-replaced",
                f"{old_type} {REPLACING[impact]}{because}{note}",
            )
        elif impact in REMOVING and old_type in self.stateful:
            yield self.finding(logical_id, "stateful-deleted", self._removal(change))

    def _removal(self, change: dict[str, Any]) -> str:
        logical_id, old_type = change["logicalId"], change["oldType"]
        where = (
            "its stack is no longer in the assembly"
            if self.gone
            else "removed from the template"
        )
        if change["impact"] == "WILL_ORPHAN":
            policy = _policy(self.old[logical_id], "DeletionPolicy")
            fate = f"DeletionPolicy {policy} keeps it, unmanaged, in the account"
        else:
            fate = "CloudFormation deletes it and its data"
        text = f"{old_type} {where}; {fate}"
        twins = [
            other
            for other, resource in self.new.items()
            if other not in self.old and resource.get("Type") == old_type
        ]
        if twins:
            text += (
                f"; new {old_type} {_shown(twins)} added: a renamed or moved "
                "construct id replaces the resource"
            )
        return text

    def _policies(self, logical_id: str, old: dict, new: dict) -> Iterator[Finding]:
        for attribute in ("DeletionPolicy", "UpdateReplacePolicy"):
            before, after = _policy(old, attribute), _policy(new, attribute)
            if before in PROTECTIVE_POLICIES and after not in PROTECTIVE_POLICIES:
                yield self.finding(
                    logical_id,
                    "retain-removed",
                    f"{old.get('Type')} {attribute} {before} -> {after}",
                )

    def _protection(self, logical_id: str, old: dict, new: dict) -> Iterator[Finding]:
        before = _protections(old.get("Properties", {}))
        after = _protections(new.get("Properties", {}))
        for path, value in sorted(before.items()):
            if _enabled(value) and not _enabled(after.get(path)):
                yield self.finding(
                    logical_id,
                    "protection-off",
                    f"{old.get('Type')} {path} {render(value)} -> "
                    f"{render(after.get(path, 'absent'))}",
                )

    def _encryption(self, logical_id: str, old: dict, new: dict) -> Iterator[Finding]:
        kind = old.get("Type")
        old_props, new_props = old.get("Properties", {}), new.get("Properties", {})
        for path in _removed_encryption(old_props, new_props):
            yield self.finding(
                logical_id, "encryption-removed", f"{kind} {path} removed or disabled"
            )
        if kind == "AWS::ElasticLoadBalancingV2::Listener":
            before, after = old_props.get("Protocol"), new_props.get("Protocol")
            if before in _TLS_PROTOCOLS and after not in _TLS_PROTOCOLS:
                yield self.finding(
                    logical_id,
                    "encryption-removed",
                    f"listener protocol {before} -> {after}: traffic no longer "
                    "encrypted in transit",
                )

    def _ingress(self) -> Iterator[Finding]:
        before = _ingress_rules(self.base, self.old_stack, self.stage)
        after = _ingress_rules(self.current, self.new_stack, self.stage)
        widened: dict[str, list[Rule]] = {}
        for rule in after:
            if rule.stack != self.stack or rule.peer_kind == "group":
                continue
            if not any(old.covers(rule) for old in before if old.group == rule.group):
                widened.setdefault(rule.declared_by, []).append(rule)
        for logical_id, rules in sorted(widened.items()):
            parts = [_describe_ingress(rule) for rule in rules]
            yield self.finding(
                logical_id,
                "ingress-widened",
                "security group opened wider: " + "; ".join(parts),
            )

    def _iam(self) -> Iterator[Finding]:
        before = list(_grants(self.old))
        after = list(_grants(self.new))
        widened: dict[str, list[_Grant]] = {}
        for grant in after:
            # A new role's trust grants nothing by itself; its policies are checked.
            if grant.is_trust and grant.declared_by not in self.old:
                continue
            if grant.effect == "Allow" and not any(g.covers(grant) for g in before):
                widened.setdefault(grant.declared_by, []).append(grant)
        kept_denies = {g.key() for g in after if g.effect == "Deny"}
        for grant in before:
            if grant.effect == "Deny" and grant.key() not in kept_denies:
                widened.setdefault(grant.declared_by, []).append(grant)
        for logical_id, grants in sorted(widened.items()):
            shown = _describe_grants(grants)
            more = len(shown) - _LIST_SHOWN
            yield self.finding(
                logical_id,
                "iam-widened",
                "IAM permissions widened: "
                + "; ".join(shown[:_LIST_SHOWN])
                + (f" (+{more} more)" if more > 0 else ""),
            )


def canonical(value: Any) -> Any:
    """The value with equal things written one way, so rewrites are no changes.

    The partition becomes the literal `@aws-cdk/core:enablePartitionLiterals`
    writes for this platform's regions, and a join of literals one string.
    """
    if isinstance(value, list):
        return [canonical(item) for item in value]
    if not isinstance(value, dict):
        return value
    if value == {"Ref": "AWS::Partition"}:
        return "aws"
    value = {key: canonical(item) for key, item in value.items()}
    join = value.get("Fn::Join")
    if len(value) == 1 and isinstance(join, list) and len(join) == 2:
        separator, parts = join
        if isinstance(parts, list) and all(isinstance(p, str) for p in parts):
            return separator.join(parts)
    return value


def _policy(resource: dict | None, attribute: str) -> str:
    value = (resource or {}).get(attribute)
    return value if isinstance(value, str) else "Delete"


def _shown(items: list[str]) -> str:
    rest = len(items) - 2
    return ", ".join(items[:2]) + (f" (+{rest} more)" if rest > 0 else "")


def _walk(value: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    """(path, key, value) of every mapping entry below `value`."""
    if isinstance(value, dict):
        for key, child in value.items():
            child_path = f"{path}.{key}" if path else key
            yield child_path, key, child
            yield from _walk(child, child_path)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _walk(child, f"{path}[{index}]")


def _protections(properties: dict) -> dict[str, Any]:
    found = {
        path: value
        for path, key, value in _walk(properties, "")
        if key.lower() in _PROTECTION_KEYS
    }
    for attribute in properties.get("LoadBalancerAttributes") or []:
        if attribute.get("Key") == "deletion_protection.enabled":
            found["LoadBalancerAttributes.deletion_protection.enabled"] = attribute.get(
                "Value"
            )
    return found


def _enabled(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.lower() in ("true", "active", "enabled")


def _lookup(value: Any, path: str) -> tuple[bool, Any]:
    """Follow a path written by `_walk`; (found, value)."""
    for part in path.replace("[", ".[").split("."):
        if part.startswith("["):
            index = int(part[1:-1])
            if not isinstance(value, list) or index >= len(value):
                return False, None
            value = value[index]
        else:
            if not isinstance(value, dict) or part not in value:
                return False, None
            value = value[part]
    return True, value


def _removed_encryption(old: dict, new: dict) -> list[str]:
    """Paths of encryption settings that `old` has and `new` drops or turns off."""
    removed: list[str] = []
    for path, key, value in _walk(old, ""):
        if not any(hint in key.lower() for hint in _ENCRYPTION_HINTS):
            continue
        if any(path.startswith((done + ".", done + "[")) for done in removed):
            continue
        if _off(value):
            continue
        found, after = _lookup(new, path)
        if not found or _off(after):
            removed.append(path)
    return removed


def _off(value: Any) -> bool:
    return value in (False, None, "") or (
        isinstance(value, str) and value.lower() == "false"
    )


def _ingress_rules(assembly: dict[str, Stack], stack: Stack | None, stage: str):
    if stack is None:
        return []
    peers = stages(assembly).get(stage, [])
    return [r for r in StageGroups(peers).rules() if r.direction == "ingress"]


def _describe_ingress(rule: Rule) -> str:
    ports = rule.ports if rule.ports == "all" else f"port {rule.ports}"
    whom = {
        "0.0.0.0/0": "0.0.0.0/0 (the whole IPv4 internet)",
        "::/0": "::/0 (the whole IPv6 internet)",
    }.get(rule.peer, rule.peer)
    return f"{ports} from {whom} into {rule.group.split('/')[-1]}"


@dataclass(frozen=True)
class _Grant:
    """One (holder, principal, action, resource, condition) of a policy statement."""

    declared_by: str
    holder: str
    effect: str
    principal: str
    action: str
    resource: str
    condition: str

    def key(self) -> tuple[str, ...]:
        return (
            self.holder,
            self.effect,
            self.principal,
            self.action.lower(),
            self.resource,
            self.condition,
        )

    def covers(self, other: _Grant) -> bool:
        """True when this grant already allows everything `other` allows."""
        return (
            self.effect == other.effect
            and self.holder == other.holder
            and self.principal == other.principal
            and self.condition in ("", other.condition)
            and fnmatch.fnmatchcase(other.action.lower(), self.action.lower())
            and fnmatch.fnmatchcase(other.resource, self.resource)
        )

    @property
    def is_trust(self) -> bool:
        return self.holder.startswith(TRUST)

    @property
    def is_wildcard(self) -> bool:
        return self.action == "*" or self.action.endswith(":*") or self.resource == "*"


def _describe_grants(grants: list[_Grant]) -> list[str]:
    """Grants of one resource, actions on the same target folded into one phrase."""
    folded: dict[tuple[str, ...], list[_Grant]] = {}
    for grant in grants:
        target = (grant.effect, grant.holder, grant.resource, grant.principal)
        folded.setdefault((*target, grant.condition), []).append(grant)
    phrases = []
    for (effect, holder, resource, principal, condition), group in folded.items():
        names = sorted({g.action for g in group})
        hidden = len(names) - _ACTIONS_SHOWN
        actions = ", ".join(names[:_ACTIONS_SHOWN])
        actions += f" (+{hidden} more)" if hidden > 0 else ""
        verb = "Deny removed" if effect == "Deny" else "allow"
        wildcard = "wildcard " if any(g.is_wildcard for g in group) else ""
        who = f" for {principal}" if principal else ""
        when = " if " + condition if condition else ""
        phrases.append(f"{holder}: {wildcard}{verb} {actions} on {resource}{who}{when}")
    return phrases


def _grants(resources: dict[str, dict]) -> Iterator[_Grant]:
    """Every grant of every policy document in a stack's resources."""
    for logical_id, resource in resources.items():
        props = resource.get("Properties", {})
        kind = resource.get("Type", "")
        for path, document in _documents(props):
            holders = _holders(logical_id, kind, props, path)
            for statement in _as_list(document.get("Statement")):
                for holder in holders:
                    yield from _statement_grants(logical_id, holder, statement)
        for arn in _as_list(props.get("ManagedPolicyArns")):
            holder = f"role {logical_id}"
            yield _Grant(logical_id, holder, "Allow", "", "attach", render(arn), "")


def _documents(props: dict) -> Iterator[tuple[str, dict]]:
    for path, _key, value in _walk(props, ""):
        if isinstance(value, dict) and "Statement" in value:
            yield path, value


def _holders(logical_id: str, kind: str, props: dict, path: str) -> list[str]:
    """Who a document grants to: attached identities, or the resource it guards."""
    if kind == "AWS::IAM::Role":
        trust = path == "AssumeRolePolicyDocument"
        return [f"{TRUST if trust else 'role'} {logical_id}"]
    if kind in ("AWS::IAM::User", "AWS::IAM::Group"):
        return [f"{kind.split('::')[-1].lower()} {logical_id}"]
    if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        attached = [
            f"{label} {_name(ref)}"
            for key, label in (
                ("Roles", "role"),
                ("Users", "user"),
                ("Groups", "group"),
            )
            for ref in _as_list(props.get(key))
        ]
        return attached or [f"policy {logical_id}"]
    return [f"{kind} {logical_id}"]


def _name(ref: Any) -> str:
    if isinstance(ref, dict) and "Ref" in ref:
        return str(ref["Ref"])
    return render(ref)


def _statement_grants(
    logical_id: str, holder: str, statement: dict
) -> Iterator[_Grant]:
    effect = statement.get("Effect", "Allow")
    principal = _compact(statement.get("Principal") or statement.get("NotPrincipal"))
    if "NotPrincipal" in statement:
        principal = f"NOT {principal}"
    condition = _compact(statement.get("Condition"))
    actions = [render(a) for a in _as_list(statement.get("Action"))]
    actions += [f"NOT {render(a)}" for a in _as_list(statement.get("NotAction"))]
    resources = [render(r) for r in _as_list(statement.get("Resource"))]
    resources += [f"NOT {render(r)}" for r in _as_list(statement.get("NotResource"))]
    for action in actions or ["(none)"]:
        for resource in resources or ["(any)"]:
            yield _Grant(
                logical_id, holder, effect, principal, action, resource, condition
            )


def _compact(value: Any) -> str:
    if value in (None, {}, ""):
        return ""
    return (
        render(value)
        if not isinstance(value, dict)
        else json.dumps(value, sort_keys=True, separators=(",", ":"))
    )


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# Waivers.

_WAIVER_FIELDS = ("stage", "stack", "logical_id", "reason", "reviewer")


@dataclass(frozen=True)
class Waiver:
    """A reviewed acceptance of one risky change."""

    stage: str
    stack: str
    logical_id: str
    reason: str
    reviewer: str
    kind: str | None = None

    def matches(self, finding: Finding) -> bool:
        place = (self.stage, self.stack, self.logical_id)
        return place == (finding.stage, finding.stack, finding.logical_id) and (
            self.kind in (None, finding.kind)
        )


def load_waivers(path: Path) -> list[Waiver]:
    """Read the waivers file; a missing file waives nothing."""
    if not path.exists():
        return []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ToolError(f"{path}: not valid JSON ({err})") from None
    entries = raw.get("waivers") if isinstance(raw, dict) else raw
    if not isinstance(entries, list):
        raise ToolError(f'{path}: expected {{"waivers": [...]}}')
    waivers = []
    for index, entry in enumerate(entries):
        missing = [
            key
            for key in _WAIVER_FIELDS
            if not isinstance(entry, dict) or not str(entry.get(key, "")).strip()
        ]
        if missing:
            raise ToolError(
                f"{path}: waivers[{index}] lacks {', '.join(missing)}; every waiver "
                f"needs {', '.join(_WAIVER_FIELDS)} (kind is optional)"
            )
        fields = {k: entry[k] for k in (*_WAIVER_FIELDS, "kind") if k in entry}
        waivers.append(Waiver(**fields))
    return waivers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make risk", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--base", required=True, help="cdk.out of the base revision")
    parser.add_argument("--current", default=str(ROOT / "cdk.out"))
    parser.add_argument("--waivers", default=str(DEFAULT_WAIVERS))
    args = parser.parse_args(argv)
    try:
        base, current = read_assembly(args.base), read_assembly(args.current)
        waivers = load_waivers(Path(args.waivers))
        findings, engine = compare(base, current)
    except (AssemblyError, ToolError) as err:
        emit(f"risk: {err}", sys.stderr)
        return 2
    return report(
        findings, waivers, engine, len(set(base) | set(current)), args.waivers
    )


def report(
    findings: list[Finding],
    waivers: list[Waiver],
    engine: str | None,
    stack_count: int,
    waivers_path: str,
) -> int:
    """Print one line per finding; 1 when any finding is not waived."""
    unwaived = 0
    used: set[Waiver] = set()
    for finding in findings:
        waiver = next((w for w in waivers if w.matches(finding)), None)
        if waiver:
            used.add(waiver)
            emit(f"waived: {finding.line()} (by {waiver.reviewer}: {waiver.reason})")
        else:
            unwaived += 1
            emit(f"RISK:   {finding.line()}")
    for waiver in waivers:
        if waiver not in used:
            emit(
                f"note: unused waiver {waiver.stage}/{waiver.stack} {waiver.logical_id}"
                " (remove it from the waivers file)"
            )
    source = f"; replacements from {engine}" if engine else ""
    emit(
        f"risk: {unwaived} risky change(s) not waived, {len(findings) - unwaived} "
        f"waived, {stack_count} stack(s) compared{source}"
    )
    if unwaived:
        emit(
            f"risk: review each RISK line; accept one by adding an entry with stage, "
            f"stack, logical_id, kind, reason and reviewer to {waivers_path}"
        )
    return 1 if unwaived else 0


if __name__ == "__main__":
    sys.exit(main())
