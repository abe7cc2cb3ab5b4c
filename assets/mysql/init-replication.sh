#!/bin/bash
# Set up GTID replication. On the primary: create the replication account
# (it reaches the replica through the binary log). On a replica: follow the
# primary by auto-position. The password is read from SSM Parameter Store at
# boot and never appears in the template, on a command line or in a log.
# Idempotent: an existing account is updated, a configured replica is kept.
#
# usage: init-replication primary PARAMETER REGION ACCOUNT_HOST
#        init-replication replica PARAMETER REGION ACCOUNT_HOST SOURCE_HOST PORT
#   PARAMETER     name of the SecureString holding the replication password
#   ACCOUNT_HOST  where replicas connect from, e.g. 10.20.0.0/255.255.0.0
set -euo pipefail

role=${1:-}
if [[ $role == primary && $# -eq 4 ]]; then
  :
elif [[ $role == replica && $# -eq 6 ]]; then
  source_host=$5
  port=$6
else
  echo "usage: $0 primary PARAMETER REGION ACCOUNT_HOST" >&2
  echo "       $0 replica PARAMETER REGION ACCOUNT_HOST SOURCE_HOST PORT" >&2
  exit 64
fi
parameter=$2
region=$3
account_host=$4
account=replication

password=$(aws ssm get-parameter --region "$region" --name "$parameter" \
  --with-decryption --query Parameter.Value --output text)
# The password is spliced into SQL, so only characters that need no quoting.
if [[ ! $password =~ ^[A-Za-z0-9_.,+=@%-]{20,}$ ]]; then
  echo "parameter $parameter must hold 20 or more of A-Z a-z 0-9 _.,+=@%-" >&2
  exit 1
fi

if [[ $role == primary ]]; then
  mysql --user=root <<SQL
CREATE USER IF NOT EXISTS '$account'@'$account_host'
  IDENTIFIED BY '$password' REQUIRE SSL;
ALTER USER '$account'@'$account_host' IDENTIFIED BY '$password' REQUIRE SSL;
GRANT REPLICATION SLAVE ON *.* TO '$account'@'$account_host';
SQL
  exit 0
fi

configured=$(mysql --user=root --skip-column-names --execute \
  "SELECT COUNT(*) FROM performance_schema.replication_connection_configuration")
if ((configured > 0)); then
  echo "replication is already configured; leaving it as it is"
  exit 0
fi
# The primary may still be booting: the replica retries for days, not minutes.
mysql --user=root <<SQL
CHANGE REPLICATION SOURCE TO
  SOURCE_HOST = '$source_host',
  SOURCE_PORT = $port,
  SOURCE_USER = '$account',
  SOURCE_PASSWORD = '$password',
  SOURCE_AUTO_POSITION = 1,
  SOURCE_SSL = 1,
  SOURCE_CONNECT_RETRY = 10,
  SOURCE_RETRY_COUNT = 86400;
START REPLICA;
SQL
