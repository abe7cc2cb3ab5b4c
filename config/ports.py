"""Named ports and the port matrix every security group is derived from.

`PORT_MATRIX` is the single source of truth: the Network stack turns each row
into one ingress rule on the target and one egress rule on the source, and a
test renders the synthesized groups back into rows and compares both ways.
"""

from __future__ import annotations

from dataclasses import dataclass

HTTP = 80
HTTPS = 443
APP = 8080
MYSQL = 3306
REDIS = 6379
SOLR = 8983
SQUID = 3128

INTERNET = "internet"
# AWS services reached privately: interface endpoints, and S3 through its
# gateway endpoint (addressed by the region's S3 prefix list).
ENDPOINTS = "endpoints"
S3 = "s3"

ALB, WEB, MYSQL_TIER, REDIS_TIER, SOLR_TIER, SQUID_TIER = (
    "alb",
    "web",
    "mysql",
    "redis",
    "solr",
    "squid",
)
# Tiers that run our hosts in private subnets.
PRIVATE_TIERS = (WEB, MYSQL_TIER, REDIS_TIER, SOLR_TIER, SQUID_TIER)
TIERS = (ALB, *PRIVATE_TIERS)
# Tiers with no direct route to the internet: they go out through Squid.
PROXIED_TIERS = (WEB, MYSQL_TIER, REDIS_TIER, SOLR_TIER)


@dataclass(frozen=True)
class Flow:
    """One allowed TCP flow: `source` may open connections to `target` on `port`."""

    source: str
    target: str
    port: int
    why: str


PORT_MATRIX: tuple[Flow, ...] = (
    Flow(INTERNET, ALB, HTTPS, "users reach the site over TLS"),
    Flow(INTERNET, ALB, HTTP, "plain HTTP, answered only with a redirect"),
    Flow(ALB, WEB, APP, "the load balancer forwards to the app"),
    Flow(WEB, MYSQL_TIER, MYSQL, "the app queries MySQL"),
    Flow(MYSQL_TIER, MYSQL_TIER, MYSQL, "replicas replicate from primaries"),
    Flow(WEB, REDIS_TIER, REDIS, "the app uses Redis"),
    Flow(REDIS_TIER, REDIS_TIER, REDIS, "the Redis replica follows the primary"),
    Flow(WEB, SOLR_TIER, SOLR, "the app searches messages"),
    # Squid and Solr sit behind internal load balancers that share the tier's
    # group: the balancer forwards to, and health-checks, its own group.
    Flow(SOLR_TIER, SOLR_TIER, SOLR, "search balancer to search nodes"),
    Flow(SQUID_TIER, SQUID_TIER, SQUID, "proxy balancer to proxies"),
    *(
        Flow(tier, SQUID_TIER, SQUID, "outbound HTTP(S) goes through the proxy")
        for tier in PROXIED_TIERS
    ),
    Flow(SQUID_TIER, INTERNET, HTTP, "the proxy fetches from the internet"),
    Flow(SQUID_TIER, INTERNET, HTTPS, "the proxy fetches from the internet"),
    *(
        Flow(tier, ENDPOINTS, HTTPS, "SSM, logs, cfn-init/-signal and KMS privately")
        for tier in PRIVATE_TIERS
    ),
    *(
        Flow(tier, S3, HTTPS, "packages, releases and backups via the S3 endpoint")
        for tier in PRIVATE_TIERS
    ),
)
