"""Engineer roles behind MFA and a CI role that can only use the CDK bootstrap roles."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

from constructs import Construct
from constructs.nag import acknowledge

# The CDK's default bootstrap qualifier; its roles are named cdk-<qualifier>-*.
BOOTSTRAP_QUALIFIER = cdk.DefaultStackSynthesizer.DEFAULT_QUALIFIER
MFA_REQUIRED = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}

# id -> (AWS job-function policy or None, maximum session hours)
ENGINEER_ROLES: dict[str, tuple[str | None, int]] = {
    "Admin": ("AdministratorAccess", 1),
    "ReadOnly": ("ReadOnlyAccess", 4),
    "Deployer": (None, 2),
    "BreakGlass": ("AdministratorAccess", 1),
}


class EngineerAccess(Construct):
    """Admin, read-only, deployer and break-glass roles; no IAM users, no keys."""

    def __init__(self, scope: Construct, id: str, *, stage_name: str) -> None:
        super().__init__(scope, id)
        stack = cdk.Stack.of(self)
        account = stack.account
        # A principal is a value: every engineer role trusts the same one.
        engineers = iam.AccountPrincipal(account).with_conditions(MFA_REQUIRED)
        self.roles = {
            name: self._mfa_role(name, engineers, policy, hours)
            for name, (policy, hours) in ENGINEER_ROLES.items()
        }
        self.ci = iam.Role(
            self,
            "Ci",
            description=f"{stage_name}: CI; may only assume the CDK bootstrap roles",
            assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com").with_conditions(
                {"StringEquals": {"aws:SourceAccount": account}}
            ),
            max_session_duration=cdk.Duration.hours(1),
        )
        bootstrap_roles = f"cdk-{BOOTSTRAP_QUALIFIER}-*-{account}-{stack.region}"

        assume_bootstrap = iam.ManagedPolicy(
            self,
            "AssumeBootstrapRolesOnly",
            statements=[
                iam.PolicyStatement(
                    actions=["sts:AssumeRole"],
                    resources=[
                        stack.format_arn(
                            service="iam",
                            region="",
                            resource="role",
                            resource_name=bootstrap_roles,
                        )
                    ],
                )
            ],
            roles=[self.roles["Deployer"], self.ci],
        )

        acknowledge(
            assume_bootstrap.node.default_child,
            f"AwsSolutions-IAM5[Resource::arn:{stack.partition}:iam::"
            f"{account}:role/{bootstrap_roles}]",
            "The wildcard spans only the CDK bootstrap roles (deploy, file "
            "publishing, lookup) of this account and region.",
        )
        for name, (policy, _hours) in ENGINEER_ROLES.items():
            if policy:
                acknowledge(
                    self.roles[name].node.default_child,
                    f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
                    f"{policy}]",
                    "Engineer roles use AWS's maintained job-function policies; "
                    "each needs MFA and has a short session.",
                )

    def _mfa_role(
        self, name: str, engineers: iam.IPrincipal, policy: str | None, hours: int
    ) -> iam.Role:
        return iam.Role(
            self,
            name,
            description=f"Engineers: {name}; MFA required",
            assumed_by=engineers,
            managed_policies=(
                [iam.ManagedPolicy.from_aws_managed_policy_name(policy)]
                if policy
                else []
            ),
            max_session_duration=cdk.Duration.hours(hours),
        )
