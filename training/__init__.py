"""Training: captions, fine-tuning and evaluation."""
