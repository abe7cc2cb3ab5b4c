# Rendered by constructs/host_config.py from assets/common/proxy.sh.
# shellcheck shell=sh
# Outbound HTTP(S) from login shells goes through the Squid fleet; AWS APIs,
# the VPC and the instance metadata service are reached directly.
export http_proxy="${proxy_url}"
export https_proxy="${proxy_url}"
export HTTP_PROXY="${proxy_url}"
export HTTPS_PROXY="${proxy_url}"
export no_proxy="${no_proxy}"
export NO_PROXY="${no_proxy}"
