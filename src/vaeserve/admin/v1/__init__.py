"""Code generated from proto/vaeserve/admin/v1 by grpc_tools.protoc; regenerate with `make proto`."""
