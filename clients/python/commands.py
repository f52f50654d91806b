"""What each ``vaeserve-client`` subcommand does, given a connected client and its flags.

Each returns the line to print; files are written where ``--out`` says.
"""

from __future__ import annotations

import argparse
from statistics import NormalDist

import numpy as np

from vaeserve.client.client import Client
from vaeserve.client.grid import save_grid
from vaeserve.client.inputs import (
    InputFileError,
    parse_point,
    read_images,
    read_latents,
    write_latents,
)
from vaeserve.client.sizing import check_fits, resize_images
from vaeserve.client.tensors import FloatArray


def models(client: Client, args: argparse.Namespace) -> str:
    rows = [
        f"{m.name}\t{m.version}\t{m.state}" + (f"\t{m.reason}" if m.reason else "")
        for m in client.list_models()
    ]
    return "\n".join(["NAME\tVERSION\tSTATE", *rows])


def repository(client: Client, args: argparse.Namespace) -> str:
    rows = [
        f"{m.name}\t{m.version}\t{m.state}"
        + ("" if m.in_repository else "\t(folder removed)")
        + (f"\t{m.reason}" if m.reason else "")
        for m in client.repository_index()
    ]
    return "\n".join(["NAME\tVERSION\tSTATE", *rows])


def load(client: Client, args: argparse.Namespace) -> str:
    entry = client.load_model(args.model, version=args.version)
    return f"{entry.name} version {entry.version}: {entry.state}"


def unload(client: Client, args: argparse.Namespace) -> str:
    running = client.unload_model(args.model, version=args.version)
    return f"{args.model} version {args.version}: unloaded ({running} requests finished on it)"


def info(client: Client, args: argparse.Namespace) -> str:
    model = client.model_info(args.model, version=args.version)
    channels, height, width = model.image_shape
    return "\n".join(
        [
            f"name: {model.name}",
            f"version: {model.version} (served: {', '.join(map(str, model.versions))})",
            f"image: {channels}x{height}x{width}",
            f"latent_dim: {model.latent_dim}",
            f"likelihood: {model.likelihood}",
            f"dataset: {model.dataset}",
            f"test negative ELBO: {model.test_negative_elbo_nats:.2f} nats/image",
            f"execution provider: {model.execution_provider}",
            f"max items per request: {model.max_items_per_request}",
        ]
    )


def sample(client: Client, args: argparse.Namespace) -> str:
    result = client.sample(
        args.model,
        args.count,
        version=args.version,
        seed=args.seed,
        temperature=args.temperature,
    )
    save_grid(args.out, result.images)
    return f"wrote {args.count} samples (seed {result.seed}) to {args.out}"


def model_images(client: Client, args: argparse.Namespace) -> FloatArray:
    """The image files of ``args.images`` as the model takes them: converted to its
    channels and, with ``--resize``, scaled to its size; without it a file of another size
    is refused with a message that names the file and the flag."""
    model = client.model_info(args.model, version=args.version)
    pictures = read_images(args.images, model.channels)
    if not args.resize:
        check_fits(pictures, model, names=[str(path) for path in args.images])
    return resize_images(pictures, model)


def encode(client: Client, args: argparse.Namespace) -> str:
    result = client.encode(args.model, model_images(client, args), version=args.version)
    write_latents(args.out, result.mean)
    return (
        f"wrote {len(result.mean)} latent means of dimension {result.mean.shape[1]} to {args.out}"
    )


def decode(client: Client, args: argparse.Namespace) -> str:
    result = client.decode(args.model, read_latents(args.latents), version=args.version)
    save_grid(args.out, result.images)
    return f"wrote {len(result.images)} decoded images to {args.out}"


def reconstruct(client: Client, args: argparse.Namespace) -> str:
    originals = model_images(client, args)
    result = client.reconstruct(args.model, originals, version=args.version)
    save_grid(args.out, np.concatenate([originals, result.images]), columns=len(originals))
    return f"wrote {len(originals)} originals (top) and reconstructions (bottom) to {args.out}"


def interpolate(client: Client, args: argparse.Namespace) -> str:
    spherical = args.method == "spherical"
    if args.images:
        result = client.interpolate(
            args.model,
            images=model_images(client, args),
            steps=args.steps,
            spherical=spherical,
            version=args.version,
        )
    else:
        ends = np.asarray([parse_point(p) for p in args.latents], np.float32)
        result = client.interpolate(
            args.model, latents=ends, steps=args.steps, spherical=spherical, version=args.version
        )
    save_grid(args.out, result.images, columns=args.steps)
    return f"wrote a {args.method} path of {args.steps} images to {args.out}"


def manifold(client: Client, args: argparse.Namespace) -> str:
    """The latent plane of a 2-D model, sampled at evenly spaced prior quantiles."""
    model = client.model_info(args.model, version=args.version)
    if model.latent_dim != 2:
        raise InputFileError(f"{model.name} has a {model.latent_dim}-D latent space, not 2-D")
    size = args.size
    quantiles = [NormalDist().inv_cdf((i + 0.5) / size) for i in range(size)]
    points = [(x, y) for y in reversed(quantiles) for x in quantiles]
    result = client.decode(args.model, np.asarray(points, np.float32), version=args.version)
    save_grid(args.out, result.images, columns=size)
    return f"wrote a {size}x{size} latent manifold to {args.out}"
