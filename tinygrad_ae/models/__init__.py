"""The models built on the framework: the lecture's autoencoder (and its regularized and deep variants),
read in this order: spec.py (every rule of a valid model), penalties.py (the regularizers), autoencoder.py
(the architecture and its objective); reference.py holds the slides' closed forms in plain numpy."""
