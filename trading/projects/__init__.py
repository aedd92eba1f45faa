"""Trading projects (交易项目), their funding sources and bid sections (标段)."""
