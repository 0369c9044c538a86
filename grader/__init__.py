"""Automated grader and harness for Keras/TensorFlow notebook homework."""

__version__ = "0.1.0"
