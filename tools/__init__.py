"""The maintainers' tools, run from the checkout's root; not part of the wheel (pyproject
packs `rnn_zoo*` only):

    python -m tools.bench          the results benchmark: results/results.json and its tables
    python -m tools.make_presets   retrain the shipped presets in the checkout's rnn_zoo/pretrained/
    python -m tools.speed          training and serving speed against plain PyTorch (needs torch)
    python -m tools.latency        batch-1 latency of every export format (needs the [export] extra)
    python -m tools.docs_tables    the tables of the docs that come from the code
    python -m tools.model_cards    every shipped preset's MODEL_CARD.md
    python -m tools.digit_photos   the MNIST presets on synthetic photos of digits: results/digit_photos.json

`tools/pages.py` says which page (README or docs) holds which generated table.
"""
