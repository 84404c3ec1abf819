"""The dataset as a whole: exports, counts, and its descriptions (VoID, service description)."""
