"""The speed benchmark: the zoo's training and serving paths against a plain-PyTorch
equivalent of every task, on this machine. Needs torch (optional, benchmark only)."""
