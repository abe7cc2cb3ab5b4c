# Rendered by constructs/host_config.py from assets/solr/solr.in.sh.
# Read by bin/solr through SOLR_INCLUDE; overrides only what differs here.
# shellcheck shell=sh disable=SC2034  # bin/solr sources this and reads them
SOLR_PORT=${port}
# Solr 9 listens on loopback unless told otherwise; the web tier connects
# from other hosts, and the security group admits only it.
SOLR_JETTY_HOST=0.0.0.0
SOLR_HOME=${solr_home}
SOLR_LOGS_DIR=/var/log/solr
SOLR_PID_DIR=${solr_home}
SOLR_HEAP=${heap}
