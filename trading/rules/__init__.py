"""Rules as data: procedure kinds, their states and statutory periods, and the working-day calendar."""
