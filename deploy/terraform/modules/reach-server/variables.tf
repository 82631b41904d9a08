variable "server_download_url" {
  description = "Where the host downloads the reach-server executable (e.g. a release mirror's reach-server-linux-x86_64, or another server's /latest/ route)."
  type        = string
}

variable "server_sha256" {
  description = "sha256 of that executable (from the release's SHA256SUMS); the download is refused on a mismatch. Empty skips the check."
  type        = string
  default     = ""
}

variable "ssh_port" {
  description = "Port of the embedded SSH server the clients dial (443 gets through most firewalls; below 1024 the unit keeps CAP_NET_BIND_SERVICE)."
  type        = number
  default     = 2222
}

variable "http_host" {
  description = "Address the HTTP daemon (MCP, /health) binds. Keep 127.0.0.1 and reach it through SSH or a TLS proxy; any other address requires the API key (always set)."
  type        = string
  default     = "127.0.0.1"
}

variable "http_port" {
  description = "Port of the HTTP daemon."
  type        = number
  default     = 8765
}

variable "api_key" {
  description = "Bearer key for MCP and the API. Empty: a random 64-hex key is generated (read it from the api_key output)."
  type        = string
  default     = ""
  sensitive   = true
}

variable "generate_host_key" {
  description = "Make the server's ed25519 host key here, so its fingerprint is an output clients can pin before the first connection. The private key is then in the Terraform state: keep the state private, or set false and read the fingerprint from the server's log."
  type        = bool
  default     = true
}

variable "extra_env" {
  description = "More REACH_* settings for /etc/reach/server.env (see deploy/server.env.example), e.g. { REACH_WEBHOOK_URL = \"https://…\" }."
  type        = map(string)
  default     = {}
}
