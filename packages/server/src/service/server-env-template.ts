/**
 * The commented env file `install-service` writes to /etc/reach/server.env when there is none;
 * `deploy/server.env.example` is this text (a test keeps them equal and checks that every
 * variable the server reads is listed). `@API_KEY@` is replaced by a fresh key at install.
 */
export const SERVER_ENV_TEMPLATE = `# Settings of the reach-mcp service (systemd EnvironmentFile syntax: KEY=VALUE, # comments).
# Keep it owner-only (root, chmod 600): it holds the API key; systemd reads it before the
# service drops to its own user. After a change: systemctl restart reach-mcp
# Every variable is optional; a commented line shows the default.

## HTTP daemon: MCP (/mcp, /sse + /messages), /health. The unit passes --transport http,
## which wins over REACH_TRANSPORT.
#REACH_TRANSPORT=http
# Bearer key for every HTTP route but /health; required when REACH_HOST is not loopback.
REACH_API_KEY=@API_KEY@
#REACH_HOST=127.0.0.1
#REACH_PORT=8765
# Extra Host header values the MCP endpoints accept (a reverse proxy's name), comma-separated.
#REACH_ALLOWED_HOSTS=

## Embedded SSH server the clients dial (443 gets through most firewalls; below 1024 the unit
## keeps CAP_NET_BIND_SERVICE and nothing else).
#REACH_SSH_HOST=0.0.0.0
#REACH_SSH_PORT=2222

## Data: host key, authorized_keys, reach.db. The unit sets it to /var/lib/reach-server.
#REACH_SERVER_HOME=/var/lib/reach-server
# Extra server directories upload_file/download_file may use (comma-separated).
#REACH_TRANSFER_ROOTS=

## Health of the links.
#REACH_HEARTBEAT_INTERVAL=30
#REACH_HEARTBEAT_TIMEOUT=10
#REACH_HEARTBEAT_GRACE=60

## Per-client rate limits: warn (count and log) or enforce (refuse).
#REACH_RATE_LIMIT_MODE=warn
#REACH_RATE_LIMIT_RPM=60
#REACH_RATE_LIMIT_CONCURRENT=10

## Webhooks: every event to one receiver, signed with the secret when set.
#REACH_WEBHOOK_URL=
#REACH_WEBHOOK_SECRET=
#REACH_WEBHOOK_TIMEOUT=10
#REACH_WEBHOOK_MAX_RETRIES=3

## Audit log and logs (stderr goes to the journal: journalctl -u reach-mcp).
#REACH_AUDIT_RETENTION_DAYS=90
#REACH_LOG_LEVEL=info
#REACH_LOG_FILE=
#REACH_LOG_MAX_BYTES=10485760
#REACH_LOG_MAX_FILES=5
`;
