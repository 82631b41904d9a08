# Provider-agnostic core: everything a host needs to boot a supervised reach-server, as cloud-init
# user data. A provider's module or resource (see ../../examples/aws) passes `user_data` on.
terraform {
  required_version = ">= 1.3"
  required_providers {
    random = { source = "hashicorp/random", version = ">= 3.5" }
    tls    = { source = "hashicorp/tls", version = ">= 4.0" }
  }
}

resource "random_id" "api_key" {
  count       = var.api_key == "" ? 1 : 0
  byte_length = 32
}

resource "tls_private_key" "host" {
  count     = var.generate_host_key ? 1 : 0
  algorithm = "ED25519"
}

locals {
  api_key = var.api_key != "" ? var.api_key : random_id.api_key[0].hex
  env = merge(var.extra_env, {
    REACH_API_KEY  = local.api_key
    REACH_SSH_PORT = tostring(var.ssh_port)
    REACH_HOST     = var.http_host
    REACH_PORT     = tostring(var.http_port)
  })
  env_file = join("", [for k in sort(keys(local.env)) : "${k}=${local.env[k]}\n"])
  bootstrap = templatefile("${path.module}/bootstrap.sh.tftpl", {
    root                = "/"
    server_download_url = var.server_download_url
    server_sha256       = var.server_sha256
    env_file_b64        = base64encode(local.env_file)
    host_key_b64        = var.generate_host_key ? base64encode(tls_private_key.host[0].private_key_openssh) : ""
  })
}
