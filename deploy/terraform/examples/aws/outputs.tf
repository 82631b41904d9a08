output "host_key_fingerprint" {
  description = "Pin this in clients' known_hosts checks: the server's SSH host key fingerprint."
  value       = module.reach.host_key_fingerprint
}

output "mcp_url" {
  description = "The MCP endpoint, through the tunnel of ssh_tunnel_command."
  value       = "http://127.0.0.1${module.reach.mcp_path}"
}

output "ssh_tunnel_command" {
  description = "Opens the tunnel to the MCP endpoint on the instance's loopback."
  value       = "ssh -N -L 8765:127.0.0.1:8765 admin@${aws_instance.reach.public_ip}"
}

output "client_command" {
  description = "What a client runs to dial this server."
  value       = "reach -s ${aws_instance.reach.public_ip} -p ${var.ssh_port}"
}

output "api_key" {
  description = "Bearer key for the MCP endpoint."
  value       = module.reach.api_key
  sensitive   = true
}
