variable "region" {
  description = "AWS region."
  type        = string
  default     = "eu-central-1"
}

variable "instance_type" {
  description = "EC2 instance type (the server needs little: ~75 MiB plus ~32 KiB per idle client)."
  type        = string
  default     = "t3.small"
}

variable "key_name" {
  description = "EC2 key pair for the operator's own SSH login (admin port 22)."
  type        = string
}

variable "server_download_url" {
  description = "URL of the reach-server-linux-x86_64 executable."
  type        = string
}

variable "server_sha256" {
  description = "Its sha256 (from SHA256SUMS)."
  type        = string
  default     = ""
}

variable "ssh_port" {
  description = "Port the Reach clients dial."
  type        = number
  default     = 443
}

variable "client_cidrs" {
  description = "Where Reach clients may connect from."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "admin_cidrs" {
  description = "Where the operator's SSH (port 22) may come from."
  type        = list(string)
}
