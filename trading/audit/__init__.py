"""The audit trail (20号令 §49): who did what, when, from where, with the record's hash before and after."""
