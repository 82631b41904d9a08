output "user_data" {
  description = "cloud-init user data that installs and starts reach-server (reach-mcp.service) on first boot."
  value       = templatefile("${path.module}/cloud-init.yaml.tftpl", { bootstrap = local.bootstrap })
  sensitive   = true
}

output "host_key_fingerprint" {
  description = "SHA256 fingerprint of the server's SSH host key (null when generate_host_key is false: read it from `journalctl -u reach-mcp`)."
  value       = var.generate_host_key ? tls_private_key.host[0].public_key_fingerprint_sha256 : null
}

output "api_key" {
  description = "The bearer key of the MCP endpoint."
  value       = local.api_key
  sensitive   = true
}

output "mcp_path" {
  description = "Path and port of the MCP endpoint on the host; combine with its address (see the example's mcp_url)."
  value       = ":${var.http_port}/mcp"
}
