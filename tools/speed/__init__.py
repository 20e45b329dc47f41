"""The speed benchmark: the zoo's training and serving paths against a plain-PyTorch
equivalent of every task, on this machine (`python -m tools.speed`; needs torch, optional,
benchmark only); and the batch-1 latency of every export format (`python -m tools.latency`)."""
