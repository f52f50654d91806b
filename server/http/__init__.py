"""The HTTP/JSON front: ``vaeserve.v1.VaeService`` over HTTP, as thin as the gRPC one.

Routes follow Google's HTTP mapping of gRPC services (``GET /v1/models``,
``POST /v1/models/{model_name}:decode``); bodies are the proto3 JSON mapping of the same
messages; errors are HTTP statuses from Google's mapping of each code with a
``google.rpc.Status`` body. Every route calls
:class:`~vaeserve.server.dataplane.handlers.VaeHandlers`, the same object the gRPC servicer
calls, on the same event loop: same validation, batcher, limits, metrics and token.

    routes.py   the route table (shared with the OpenAPI generator) and the RPC routes
    bodies.py   JSON bodies <-> protobuf messages, content type and size checks
    status.py   error tree -> HTTP status and google.rpc.Status body; request metrics
    pictures.py PNG routes for <img> tags and curl (a grid of samples)
    probes.py   /healthz and /readyz on the shared HealthState
    static.py   the explorer page (``vaeserve.web``) at /
    openapi.py  the OpenAPI document: generated from the proto, committed, served
    site.py     the aiohttp application, its TLS listener, drain and stop
"""
