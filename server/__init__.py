"""The gRPC inference service: model repository, onnxruntime sessions, batcher, metrics."""
