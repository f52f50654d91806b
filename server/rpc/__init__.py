"""The gRPC front: the servicer, errors to status codes, malformed bytes, and health."""
