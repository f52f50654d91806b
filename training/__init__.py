"""Train variational autoencoders in PyTorch: datasets, models, the loop, evaluation, figures.

The flow, one module per step: ``datasets`` (with ``idx``, ``cifar``, ``images``) loads
float32 [N, C, H, W] images in [0, 1]; ``models`` builds an MLP or convolutional VAE from a
``ModelSpec``; ``elbo`` is the objective; ``trainer`` runs a ``config.TrainConfig`` and writes
``checkpoint`` files; ``evaluate`` scores them; ``figures`` draws them. ``cli`` and
``commands`` are the ``vaeserve train`` / ``vaeserve evaluate`` edge, ``defaults`` trains
the embedded models. Everything here needs the ``train`` extra except ``cli`` and ``errors``.
"""
