"""Inference, free of any protocol: the model repository, onnxruntime sessions, the model
table and the dynamic batcher. Nothing here imports grpc (a test pins that), so the gRPC
and HTTP fronts share it unchanged."""
