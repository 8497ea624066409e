"""Data files of the model package (see README.md here); no code."""
