"""Preview shards: the archive's previews decoded once for training and embedding."""
