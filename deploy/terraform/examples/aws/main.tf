# A worked example: one EC2 instance running reach-server, SSH port open to the clients, HTTP kept
# on the instance's loopback (reach it with `ssh -L`, see the outputs).
#   terraform init && terraform apply -var server_download_url=https://…/reach-server-linux-x86_64
terraform {
  required_version = ">= 1.3"
  required_providers {
    aws = { source = "hashicorp/aws", version = ">= 5.0" }
  }
}

provider "aws" {
  region = var.region
}

module "reach" {
  source              = "../../modules/reach-server"
  server_download_url = var.server_download_url
  server_sha256       = var.server_sha256
  ssh_port            = var.ssh_port
}

data "aws_ami" "debian" {
  most_recent = true
  owners      = ["136693071363"] # Debian's own AWS account
  filter {
    name   = "name"
    values = ["debian-12-amd64-*"]
  }
}

resource "aws_security_group" "reach" {
  name        = "reach-server"
  description = "Reach clients dial the embedded SSH server; admin SSH for the operator"
  ingress {
    description = "Reach clients"
    from_port   = var.ssh_port
    to_port     = var.ssh_port
    protocol    = "tcp"
    cidr_blocks = var.client_cidrs
  }
  ingress {
    description = "operator SSH (ssh -L to the MCP endpoint)"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = var.admin_cidrs
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_instance" "reach" {
  ami                    = data.aws_ami.debian.id
  instance_type          = var.instance_type
  key_name               = var.key_name
  vpc_security_group_ids = [aws_security_group.reach.id]
  user_data              = module.reach.user_data
  tags                   = { Name = "reach-server" }
}
