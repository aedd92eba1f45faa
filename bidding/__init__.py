"""Sealed bids: the envelope format, key custody, submission and receipts, the opening ceremony."""
