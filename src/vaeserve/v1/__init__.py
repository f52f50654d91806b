"""Code generated from proto/vaeserve/v1 by grpc_tools.protoc; regenerate with `make proto`."""
