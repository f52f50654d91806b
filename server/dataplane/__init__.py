"""The service's requests and replies, protocol-free: protobuf messages in, validated
numpy through the models, protobuf messages out. gRPC and HTTP are thin fronts on it."""
