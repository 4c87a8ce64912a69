"""The model factory: trains our own keyword models, converts Hugging Face audio classifiers,
quantizes and prunes them, and checks every variant on real audio."""
