"""Training: the one loop (`loop.py`, what Autoencoder.fit runs) and the `train` job around it: its options
(`options.py`), the run (`job.py`), checkpoints, the report and the pictures."""
