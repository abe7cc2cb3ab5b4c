"""What moto 5.2.5's CloudFormation cannot hold, and which test covers it instead.

The one list of it. tests/moto/test_moto_coverage.py keeps it honest: a type or
property of the templates that moto cannot hold must be listed here; an entry
that moto has learnt to hold, or that no template uses any more, fails; and
every named test must exist. Custom resources are listed too: moto runs their
handler only in Docker, so the tooling answers for them without running it
(quirk "custom resources" in scripts/moto_quirks.py). Types that the tooling
adds to moto are in scripts/moto_quirks.ADDED_TYPES, not here.
"""

from __future__ import annotations

AUDIT = "tests/test_audit_and_keys.py::"
GROUPS = "tests/test_security_groups.py::"
NETWORK = "tests/test_network.py::"
DUAL_STACK = (
    "tests/test_load_balancer.py::"
    "test_dual_stack_vpc_gives_subnets_ipv6_blocks_but_hosts_no_ipv6_address"
)
HERE = "tests/moto/test_template_claims.py::"
TIERS = "tests/test_tiers.py::"

# resource type -> the template-level test that covers it ("file::test").
UNSUPPORTED_TYPES: dict[str, str] = {
    "AWS::CloudTrail::Trail": AUDIT
    + "test_trail_covers_every_region_validates_files_and_is_encrypted",
    "AWS::CloudWatch::Alarm": AUDIT
    + "test_every_cis_control_has_a_filter_and_an_alarm_on_the_topic",
    "AWS::Logs::MetricFilter": AUDIT
    + "test_every_cis_control_has_a_filter_and_an_alarm_on_the_topic",
    "AWS::S3::BucketPolicy": AUDIT
    + "test_every_bucket_blocks_public_access_encrypts_and_requires_tls",
    "AWS::SNS::Subscription": AUDIT
    + "test_alarm_topic_is_encrypted_tls_only_and_mails_on_call",
    "AWS::SNS::TopicPolicy": AUDIT
    + "test_alarm_topic_is_encrypted_tls_only_and_mails_on_call",
    "AWS::SQS::QueuePolicy": HERE
    + "test_each_queue_policy_refuses_requests_without_tls",
    "AWS::EC2::SecurityGroupEgress": GROUPS
    + "test_egress_rules_are_exactly_the_matrix_both_ways",
    "AWS::EC2::EgressOnlyInternetGateway": HERE
    + "test_private_subnets_reach_out_over_ipv6_only_through_the_egress_only_gateway",
    "AWS::CodePipeline::Pipeline": "tests/test_pipeline.py::"
    "test_the_pipeline_deploys_dev_then_the_dr_stage_then_prod",
    "AWS::AutoScaling::ScalingPolicy": TIERS
    + "test_web_fleet_uses_elb_health_checks_and_scales_on_cpu_and_requests",
    "AWS::WAFv2::WebACL": HERE
    + "test_each_web_acl_runs_the_aws_managed_rule_groups_in_order",
    "AWS::WAFv2::WebACLAssociation": "tests/test_load_balancer.py::"
    "test_web_acl_is_associated_with_the_load_balancer",
    "AWS::WAFv2::LoggingConfiguration": HERE
    + "test_each_web_acl_logs_to_a_waf_log_group_of_its_stack",
    "Custom::AWS": AUDIT + "test_ebs_encryption_by_default_uses_the_data_key",
    "Custom::VpcRestrictDefaultSG": NETWORK
    + "test_default_security_group_is_stripped_of_rules",
}

# (resource type, property) that moto's CloudFormation accepts but drops, so
# the mock cannot show it -> the template-level test that covers it. A dot
# steps into a property, or into each item of a list ("Rules.Port").
DROPPED_PROPERTIES: dict[tuple[str, str], str] = {
    ("AWS::EC2::VPC", "EnableDnsHostnames"): HERE
    + "test_each_vpc_resolves_names_so_private_endpoints_answer",
    ("AWS::EC2::VPC", "EnableDnsSupport"): HERE
    + "test_each_vpc_resolves_names_so_private_endpoints_answer",
    ("AWS::EC2::Subnet", "Ipv6CidrBlock"): DUAL_STACK,
    ("AWS::EC2::Subnet", "MapPublicIpOnLaunch"): NETWORK
    + "test_public_subnets_do_not_hand_out_public_addresses",
    ("AWS::EC2::Route", "DestinationIpv6CidrBlock"): HERE
    + "test_private_subnets_reach_out_over_ipv6_only_through_the_egress_only_gateway",
    ("AWS::EC2::SecurityGroup", "SecurityGroupEgress"): GROUPS
    + "test_egress_rules_are_exactly_the_matrix_both_ways",
    ("AWS::EC2::SecurityGroup", "SecurityGroupIngress.CidrIpv6"): GROUPS
    + "test_only_the_load_balancer_takes_80_and_443_from_the_internet",
    ("AWS::EC2::Volume", "VolumeType"): TIERS
    + "test_each_mysql_host_has_exactly_one_sc1_volume_in_its_zone_mounted_at_backup",
    ("AWS::EC2::Volume", "Encrypted"): TIERS
    + "test_each_mysql_host_has_exactly_one_sc1_volume_in_its_zone_mounted_at_backup",
    ("AWS::S3::Bucket", "VersioningConfiguration"): "tests/test_storage.py::"
    "test_uploads_are_versioned_kms_encrypted_with_cors_and_lifecycle",
    ("AWS::Route53::HostedZone", "VPCs"): "tests/test_dns.py::"
    "test_private_zone_is_attached_to_the_vpc",
    ("AWS::Logs::LogGroup", "KmsKeyId"): NETWORK
    + "test_flow_log_captures_all_traffic_into_an_encrypted_retained_group",
}
