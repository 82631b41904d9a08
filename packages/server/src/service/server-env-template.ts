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
# Or a file of bearer keys, one a line, mode 0600 (keeps the key out of this file).
#REACH_API_KEY_FILE=
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

## Resumable transfer partials left by an interrupted download: kept this many hours, and at
## most this many MiB in all (oldest removed first).
#REACH_PARTIAL_TTL_HOURS=168
#REACH_PARTIAL_MAX_MIB=4096

## HTTP and SSH admission limits.
#REACH_MAX_BODY_BYTES=16777216
#REACH_MCP_IDLE_TIMEOUT=600
#REACH_MCP_MAX_SESSIONS=1000
#REACH_MCP_MAX_SESSIONS_PER_KEY=200
#REACH_MAX_STARTUPS=64:30:128
#REACH_MAX_UNAUTHENTICATED_PER_SOURCE=16
#REACH_BANNER_TIMEOUT=10

## File exchange bucket (exchange_* tools): Cloudflare R2 or any S3-compatible endpoint.
## The reference's R2_ACCOUNT_ID, R2_BUCKET, R2_ACCESS_KEY, R2_SECRET_KEY are read too.
#REACH_R2_ACCOUNT_ID=
#REACH_S3_ENDPOINT=
#REACH_S3_REGION=auto
#REACH_S3_BUCKET=
#REACH_S3_ACCESS_KEY_ID=
#REACH_S3_SECRET_ACCESS_KEY=
#REACH_S3_FORCE_PATH_STYLE=false
## Key rotation (r2_* tools): a Cloudflare API token that may manage account API tokens. With
## REACH_S3_CREDENTIALS_ENV_FILE pointing at this file, r2_rotate_keys rewrites the key lines
## above and REACH_S3_ROTATED_AT here (else it keeps the new pair in <data-dir>/r2-credentials.json).
#REACH_CLOUDFLARE_API_TOKEN=
#REACH_CLOUDFLARE_API_BASE=https://api.cloudflare.com/client/v4
#REACH_S3_CREDENTIALS_ENV_FILE=
#REACH_S3_ROTATED_AT=
`;
