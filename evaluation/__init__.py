"""After the opening: the expert draw, evaluation, candidate publicity, award and contract (a sealed bid's
life after the opening record, bidding/)."""
